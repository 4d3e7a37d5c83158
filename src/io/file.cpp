// read_file / write_file_atomic / check_output_path (file.h).
#include "io/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "core/limits.h"
#include "lstm/error.h"

namespace lstm {

namespace {

std::string why() { return std::strerror(errno); }

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a pipe";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

std::string folder_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The path a write lands on: symbolic links are followed (the file they point to is replaced,
// the link stays), up to 32 of them.
std::string follow_links(const std::string& path) {
  std::string at = path;
  for (int hops = 0; hops < 32; ++hops) {
    struct stat st;
    if (::lstat(at.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return at;
    std::string target(size_t(st.st_size > 0 ? st.st_size : 4096) + 1, '\0');
    const ssize_t n = ::readlink(at.c_str(), target.data(), target.size());
    if (n < 0) return at;
    target.resize(size_t(n));
    at = !target.empty() && target[0] == '/' ? target : folder_of(at) + "/" + target;
  }
  throw Error("cannot write '" + path + "': it is a chain of more than 32 symbolic links");
}

// The mode a new file gets: 0666 less the umask (read from /proc, so the umask is not touched).
mode_t new_file_mode() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("Umask:", 0) == 0) return mode_t(0666 & ~std::stoul(line.substr(6), nullptr, 8));
  return 0644;
}

// Temporary files are named <name>.tmp-<pid>-XXXXXX. One whose process is gone was left by a
// killed write: removed before the next write of the same file.
void remove_stale_temporaries(const std::string& folder, const std::string& name) {
  DIR* dir = ::opendir(folder.c_str());
  if (!dir) return;
  const std::string prefix = name + ".tmp-";
  while (const dirent* e = ::readdir(dir)) {
    const std::string entry = e->d_name;
    if (entry.rfind(prefix, 0) != 0) continue;
    const std::string rest = entry.substr(prefix.size());  // <pid>-XXXXXX
    const size_t dash = rest.find('-');
    if (dash == std::string::npos || dash == 0 || dash > 9 || rest.size() != dash + 7 ||
        rest.find_first_not_of("0123456789") != dash)
      continue;
    const pid_t pid = pid_t(std::stol(rest.substr(0, dash)));
    if (pid == ::getpid() || (::kill(pid, 0) == 0 || errno != ESRCH)) continue;  // still alive
    ::unlink((folder + "/" + entry).c_str());
  }
  ::closedir(dir);
}

}  // namespace

std::string read_file(const std::string& path, const char* what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(std::string("cannot open ") + what + " '" + path + "': " + why());
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const std::string w = why();
    ::close(fd);
    throw Error(std::string("cannot read ") + what + " '" + path + "': " + w);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw Error(std::string("'") + path + "' is a folder, not a " + what + ": give the file's path");
  }
  // A regular file is read to its length; a pipe or device (no length) up to a limit.
  const bool regular = S_ISREG(st.st_mode);
  const uint64_t limit = regular ? uint64_t(st.st_size) : limits::kStreamBytes;
  std::string bytes;
  bytes.resize(size_t(regular ? limit : 1 << 16));
  size_t done = 0;
  for (;;) {
    if (done == bytes.size()) {
      if (regular || bytes.size() > limit) break;
      bytes.resize(std::min<size_t>(bytes.size() * 2, size_t(limit) + 1));
    }
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string w = why();
      ::close(fd);
      throw Error(std::string("cannot read ") + what + " '" + path + "': " + w);
    }
    if (n == 0) break;
    done += size_t(n);
  }
  ::close(fd);
  bytes.resize(done);
  if (!regular && done > limit)
    throw Error(std::string("'") + path + "' is " + kind_of(st.st_mode) + " that gave more than " +
                std::to_string(limit) + " bytes, the most lstm reads from something that is not "
                "a regular file: save it to a file first");
  return bytes;
}

void check_output_path(const std::string& path, const char* what) {
  if (path.empty()) throw Error(std::string("the ") + what + "'s path is empty");
  const std::string target = follow_links(path);
  struct stat st;
  if (::stat(target.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    throw Error("cannot write " + std::string(what) + " '" + path + "': it is " +
                kind_of(st.st_mode) + ", and lstm writes only regular files (it would replace "
                "it): give a file's path");
  const std::string dir = folder_of(target);
  if (::access(dir.c_str(), W_OK) != 0)
    throw Error("cannot write " + std::string(what) + " '" + path + "': the folder '" + dir +
                "' does not exist or is not writable");
}

static std::atomic<bool> g_discard{false};
void discard_writes() { g_discard = true; }

void write_file_atomic(const std::string& path, const std::string& bytes, const char* what) {
  check_output_path(path, what);
  if (g_discard) return;
  const std::string target = follow_links(path), dir = folder_of(target);
  struct stat st;
  const mode_t mode = ::stat(target.c_str(), &st) == 0 ? (st.st_mode & 07777) : new_file_mode();
  remove_stale_temporaries(dir, base_of(target));
  std::string tmp = target + ".tmp-" + std::to_string(::getpid()) + "-XXXXXX";
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0)
    throw Error(std::string("cannot write ") + what + " '" + path + "': " + why() +
                " (does the folder exist, and may you write there?)");
  auto fail = [&](const std::string& w) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw Error(std::string("cannot write ") + what + " '" + path + "': " + w);
  };
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(n < 0 ? why() : "no space written");
    done += size_t(n);
  }
  if (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0) fail(why());
  if (::close(fd) != 0) {
    const std::string w = why();
    ::unlink(tmp.c_str());
    throw Error(std::string("cannot write ") + what + " '" + path + "': " + w);
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    const std::string w = why();
    ::unlink(tmp.c_str());
    throw Error(std::string("cannot write ") + what + " '" + path + "': " + w);
  }
  // The rename is durable once the folder is on disk too.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace lstm
