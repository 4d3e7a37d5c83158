// read_file / write_file_atomic (file.h).
#include "io/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "lstm/error.h"

namespace lstm {

std::string read_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(std::string("cannot open ") + what + " '" + path + "': " + std::strerror(errno));
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) throw Error(std::string("cannot read ") + what + " '" + path + "'");
  return s.str();
}

void write_file_atomic(const std::string& path, const std::string& bytes, const char* what) {
  std::string tmp = path + ".tmp-XXXXXX";
  int fd = mkstemp(tmp.data());
  if (fd < 0)
    throw Error(std::string("cannot write ") + what + " '" + path + "': " + std::strerror(errno) +
                " (does the folder exist, and may you write there?)");
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::string why = std::strerror(errno);
      ::close(fd);
      std::remove(tmp.c_str());
      throw Error(std::string("cannot write ") + what + " '" + path + "': " + why);
    }
    done += size_t(n);
  }
  fchmod(fd, 0644);
  if (::fsync(fd) != 0 || ::close(fd) != 0 || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw Error(std::string("cannot write ") + what + " '" + path + "': " + why);
  }
}

}  // namespace lstm
