// A child process that answers requests (see sandbox.h). Frames, both ways: an 8-byte
// little-endian length, then that many bytes; a reply's frame starts with one status byte
// (0 the answer, 1 an error message).
#include "io/sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>

#include "lstm/error.h"

// Under a sanitizer with libFuzzer, a crash in the child would otherwise run the fuzzer's death
// callback there and report the parent's input as a finding; the child resets it (weak: absent
// in normal builds).
extern "C" void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

namespace lstm {

namespace {

constexpr uint64_t kMaxRequest = uint64_t(1) << 20;  // paths and names, never more
constexpr uint64_t kMaxMessage = uint64_t(1) << 16;  // an error message from the child

using Clock = std::chrono::steady_clock;

void put_u64(char* out, uint64_t v) {
  for (int k = 0; k < 8; ++k) out[k] = char((v >> (8 * k)) & 0xff);
}
uint64_t get_u64(const char* in) {
  uint64_t v = 0;
  for (int k = 0; k < 8; ++k) v |= uint64_t(uint8_t(in[k])) << (8 * k);
  return v;
}

// Blocking, for the child: false when the other end is gone.
bool read_all(int fd, char* p, size_t n) {
  while (n > 0) {
    const ssize_t got = read(fd, p, n);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    p += got;
    n -= size_t(got);
  }
  return true;
}
bool send_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t sent = send(fd, p, n, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) return false;
    p += sent;
    n -= size_t(sent);
  }
  return true;
}

[[noreturn]] void child_main(int fd, const std::function<std::string(std::string_view)>& serve, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(0);  // the parent died before the line above
  if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(nullptr);
  const int null = open("/dev/null", O_RDWR);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
  }
  signal(SIGINT, SIG_IGN);
  for (;;) {
    char header[9];
    if (!read_all(fd, header, 8)) _exit(0);
    const uint64_t n = get_u64(header);
    if (n > kMaxRequest) _exit(2);
    std::string request(size_t(n), '\0');
    if (!read_all(fd, request.data(), request.size())) _exit(0);
    std::string reply;
    char status = 0;
    try {
      reply = serve(request);
    } catch (const std::exception& e) {
      status = 1;
      reply = e.what();
      if (reply.size() > kMaxMessage) reply.resize(kMaxMessage);
    } catch (...) {
      status = 1;
      reply = "an unknown error";
    }
    header[0] = status;
    put_u64(header + 1, reply.size());
    if (!send_all(fd, header, 9) || !send_all(fd, reply.data(), reply.size())) _exit(0);
  }
}

void kill_and_reap(pid_t pid) {
  kill(pid, SIGKILL);
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

Sandbox::Sandbox(std::string what, std::function<std::string(std::string_view)> serve) : what_(std::move(what)) {
  int ends[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0)
    throw Error(what_ + ": cannot start the child process that reads the file (socketpair: " + std::strerror(errno) + ")");
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    const int e = errno;
    close(ends[0]);
    close(ends[1]);
    throw Error(what_ + ": cannot start the child process that reads the file (fork: " + std::strerror(e) + ")");
  }
  if (pid == 0) {
    close(ends[0]);
    child_main(ends[1], serve, parent);
  }
  close(ends[1]);
  pid_ = pid;
  fd_ = ends[0];
}

Sandbox::~Sandbox() {
  if (pid_ > 0) {
    kill_and_reap(pid_);
  }
  if (fd_ >= 0) close(fd_);
}

void Sandbox::fail(const std::string& why) {
  if (pid_ > 0) {
    // a child that closed its end is usually dying: give it a moment to say how (one that is
    // late is killed at once)
    int status = 0;
    pid_t done = 0;
    const int waits = why == "ended" ? 1000 : 0;
    for (int k = 0; (done = waitpid(pid_, &status, WNOHANG)) == 0 && k < waits; ++k) usleep(1000);
    std::string how = why;
    if (done == 0) {
      kill_and_reap(pid_);
    } else if (done == pid_ && WIFSIGNALED(status)) {
      how = "crashed (signal " + std::to_string(WTERMSIG(status)) + ", " + strsignal(WTERMSIG(status)) + ")";
    } else if (done == pid_ && WIFEXITED(status) && why == "ended") {
      how = "ended (exit code " + std::to_string(WEXITSTATUS(status)) + ")";
    }
    pid_ = -1;
    failed_ = what_ + " " + how + " reading it: the file is corrupt or was crafted against the reader; nothing was "
              "taken from it after that";
  }
  if (failed_.empty()) failed_ = what_ + " " + why;
  throw Error(failed_);
}

void Sandbox::call(std::string_view request, double seconds, const Place& place) {
  if (!failed_.empty()) throw Error(failed_);
  const Clock::time_point deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::string frame(8, '\0');
  put_u64(frame.data(), request.size());
  frame.append(request);
  if (!send_all(fd_, frame.data(), frame.size())) fail("ended");
  // Reads n bytes before the deadline, or fails.
  auto receive = [&](char* p, uint64_t n) {
    while (n > 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) {
        char t[32];
        std::snprintf(t, sizeof t, "%g", seconds);
        fail(std::string("took more than ") + t + " s (killed)");
      }
      pollfd pfd{fd_, POLLIN, 0};
      const int ready = poll(&pfd, 1, int(std::min<long long>(left, 1000)));
      if (ready < 0 && errno != EINTR) fail("could not be waited for");
      if (ready <= 0) continue;
      const ssize_t got = recv(fd_, p, size_t(std::min<uint64_t>(n, uint64_t(1) << 30)), 0);
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) fail("ended");
      p += got;
      n -= uint64_t(got);
    }
  };
  char header[9];
  receive(header, 9);
  const uint64_t n = get_u64(header + 1);
  if (header[0] == 1) {
    if (n > kMaxMessage) fail("sent an error message of " + std::to_string(n) + " bytes");
    std::string message(size_t(n), '\0');
    receive(message.data(), n);
    throw Error(message);
  }
  if (header[0] != 0) fail("sent a malformed reply");
  char* out = nullptr;
  try {
    out = place(n);
  } catch (...) {
    // the reply is refused: the child is mid-send, so it goes
    kill_and_reap(pid_);
    pid_ = -1;
    failed_ = what_ + " sent a reply that was refused (" + std::to_string(n) + " bytes); it was stopped";
    throw;
  }
  receive(out, n);
}

std::string Sandbox::call(std::string_view request, double seconds, uint64_t max_bytes) {
  std::string reply;
  call(request, seconds, [&](uint64_t n) {
    if (n > max_bytes)
      throw Error(what_ + " answered with " + std::to_string(n) + " bytes, more than the " + std::to_string(max_bytes) +
                  " allowed");
    reply.resize(size_t(n));
    return reply.data();
  });
  return reply;
}

}  // namespace lstm
