// A parser of untrusted files run in a child process, so that a crash or an endless loop inside a
// dependency (libhdf5 on a corrupt .h5: docs/robustness.md) becomes a clear error here instead of
// memory corruption or a hang of the whole program.
//
//   Sandbox child("libhdf5", [&](std::string_view request) { return answer(request); });
//   std::string reply = child.call("exists /model_weights", 30.0, 1 << 20);  // <= 1 MiB in 30 s
//
// The constructor forks; the child answers each request with serve(request) until the Sandbox is
// destroyed (then it is killed). The child starts as a copy of this process at that moment, so
// serve may use whatever the caller captured (the file's name, its bytes in memory); it runs in
// that one thread, with stdin/stdout/stderr on /dev/null, SIGINT ignored, and ends with its
// parent. An lstm::Error (or any std::exception) thrown by serve comes back as an lstm::Error with
// the same message. A child that dies, sends a reply larger than the caller allows, or does not
// answer within the deadline is killed, and this and every later call throw an lstm::Error
// saying which ("libhdf5 crashed (signal 11)", "... took more than 30 s").
//
// Not for speed-critical paths: a request costs two system calls each way, and the fork as much
// as copying this process's page tables (about a millisecond per 100 MB resident).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace lstm {

class Sandbox {
 public:
  // Where a reply of `bytes` bytes goes: a buffer of that size, or an lstm::Error if the caller
  // refuses that size (checked before any of it is read).
  using Place = std::function<char*(uint64_t bytes)>;

  Sandbox(std::string what, std::function<std::string(std::string_view request)> serve);
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  // The child's reply to `request`, written where `place` says; throws as described above.
  void call(std::string_view request, double seconds, const Place& place);
  // The reply as a string of at most `max_bytes` bytes.
  std::string call(std::string_view request, double seconds, uint64_t max_bytes);

 private:
  [[noreturn]] void fail(const std::string& why);
  std::string what_;
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string failed_;  // why the child is gone, once it is
};

}  // namespace lstm
