// Whole-file reads and atomic writes: a file is written to a temporary name beside the target
// and renamed over it, so a reader never sees half a file and a failed write loses nothing.
//
// What a write may replace: only a regular file. A symbolic link is followed (the file it
// points to is replaced, the link stays); a folder, device, pipe or socket at the path is an
// error. An existing file keeps its permissions; a new one gets 0666 less the umask. The
// temporary is <name>.tmp-<pid>-XXXXXX; one left by a killed process is removed by the next
// write of the same file. After the rename the folder is synced, so the new file survives a
// crash.
#pragma once

#include <string>

namespace lstm {

// The file's bytes. A folder is an error that says so; a pipe or device is read up to
// limits::kStreamBytes. Throws lstm::Error naming `what` and the path.
std::string read_file(const std::string& path, const char* what);
// Throws lstm::Error unless `path` can be written as above: not a folder or other non-regular
// file, in a folder that exists and is writable. Commands check outputs with it before work.
void check_output_path(const std::string& path, const char* what);
void write_file_atomic(const std::string& path, const std::string& bytes, const char* what);
// From now on, write_file_atomic checks its path and writes nothing: the CLI's ranks other than
// 0 under mpirun, whose outputs rank 0 writes (lstm/distributed.h).
void discard_writes();

}  // namespace lstm
