#pragma once
// UDP sockets for csi_live, csi_send and their tests (POSIX, IPv4): HOST:PORT
// parsing, binding, sending, and the kernel's receive-side counters.
//
// Tools only. Functions throw aether::Error (invalid_argument naming the bad
// HOST:PORT, io_error naming the failed call and address); a Socket owns its
// descriptor (closed by the destructor; movable, not copyable).

#include <aether/error.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

namespace aether_tools {

/// An owned socket descriptor.
class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  Socket(Socket&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Socket& operator=(Socket&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() { reset(); }
  int fd() const noexcept { return fd_; }
  void reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

/// "HOST:PORT" (dotted IPv4 host, port 0-65535) -> address. Throws
/// invalid_argument naming `what` (the flag) and the text.
inline sockaddr_in parse_host_port(const std::string& text, const std::string& what) {
  const auto colon = text.rfind(':');
  sockaddr_in a{};
  a.sin_family = AF_INET;
  const auto bad = [&](const std::string& why) {
    aether::detail::fail(aether::Errc::invalid_argument, what + " '" + text + "': " + why);
  };
  if (colon == std::string::npos) bad("expected HOST:PORT");
  const std::string host = text.substr(0, colon), port = text.substr(colon + 1);
  if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) bad("host '" + host + "' is not a dotted IPv4 address");
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535) {
    bad("port '" + port + "' is not a number 0-65535");
  }
  a.sin_port = htons(static_cast<std::uint16_t>(std::stoul(port)));
  return a;
}

/// "ADDR:PORT" of an address.
inline std::string to_string(const sockaddr_in& a) {
  char host[INET_ADDRSTRLEN] = "?";
  inet_ntop(AF_INET, &a.sin_addr, host, sizeof host);
  return std::string(host) + ":" + std::to_string(ntohs(a.sin_port));
}

[[noreturn]] inline void fail_errno(const std::string& what) {
  aether::detail::fail(aether::Errc::io_error, what + ": " + std::strerror(errno));
}

/// A UDP socket bound to `addr` (port 0: the kernel picks one).
inline Socket bind_udp(const sockaddr_in& addr) {
  Socket s(::socket(AF_INET, SOCK_DGRAM, 0));
  if (s.fd() < 0) fail_errno("socket");
  if (::bind(s.fd(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) fail_errno("bind " + to_string(addr));
  return s;
}

/// The address a socket is bound to.
inline sockaddr_in local_address(const Socket& s) {
  sockaddr_in a{};
  socklen_t n = sizeof a;
  if (::getsockname(s.fd(), reinterpret_cast<sockaddr*>(&a), &n) != 0) fail_errno("getsockname");
  return a;
}

/// The kernel's drop count for the UDP socket bound to local `port`
/// (/proc/net/udp, last column), or -1 when not found.
inline long long proc_udp_drops(std::uint16_t port) {
  std::ifstream in("/proc/net/udp");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string slot, local, remote, field, last;
    f >> slot >> local;
    const auto colon = local.find(':');
    if (colon == std::string::npos || std::stoul(local.substr(colon + 1), nullptr, 16) != port) continue;
    while (f >> field) last = field;
    return last.empty() ? -1 : std::stoll(last);
  }
  return -1;
}

}  // namespace aether_tools
