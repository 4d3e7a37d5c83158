// Whole-file reads and atomic writes: a file is written to a temporary name beside the target
// and renamed over it, so a reader never sees half a file and a failed write loses nothing.
#pragma once

#include <string>

namespace lstm {

std::string read_file(const std::string& path, const char* what);  // throws lstm::Error
void write_file_atomic(const std::string& path, const std::string& bytes, const char* what);

}  // namespace lstm
