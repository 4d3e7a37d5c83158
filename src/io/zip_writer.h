// A zip archive built in memory with libzip, every entry stored (uncompressed), as torch.save
// and Keras write theirs (and as lstm's readers of those files require).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace lstm {

// The archive's bytes: entries (name, contents) in order. Throws lstm::Error.
std::string zip_stored(const std::vector<std::pair<std::string, std::string>>& entries);

}  // namespace lstm
