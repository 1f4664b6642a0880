#pragma once
/// \file error.hpp
/// The library's single error type: `aether::Error`, carrying an `aether::Errc`.
///
/// Every failure a caller can cause (a bad configuration, mismatched shapes,
/// untrusted bytes, a full cache, an unreadable file) is reported by throwing
/// `aether::Error`; nothing is validated with `assert()`. Non-throwing
/// variants (`try_*`) return the same code instead.

#include <cstdint>
#include <stdexcept>
#include <string>

namespace aether {

/// What went wrong. Stable numeric values: they may be logged or compared.
enum class Errc : std::uint8_t {
  ok = 0,
  // --- kernels, caches, heads ---
  invalid_config = 1,    ///< a configuration field out of range (block_size 0, ...)
  shape_mismatch = 2,    ///< tensor shapes that do not fit together
  invalid_argument = 3,  ///< any other bad argument (keep-mask length, capacity 0, ...)
  cache_full = 4,        ///< append to a full KV cache without an eviction policy
  // --- .rvne container (RVNE.md validation order) ---
  truncated = 10,             ///< fewer bytes than the header or weights_len require
  bad_magic = 11,             ///< first four bytes are not "ENVR"
  unsupported_version = 12,   ///< version field is not 1
  unsupported_flags = 13,     ///< unknown flag bit or non-zero reserved byte
  trailing_bytes = 14,        ///< more bytes than 28 + weights_len
  checksum_mismatch = 15,     ///< CRC-32 does not match
  invalid_header = 16,        ///< zero dims, indivisible heads, misaligned weights_len
  layout_mismatch = 17,       ///< weights_len differs from the model layout size
  // --- environment ---
  io_error = 30,              ///< a file could not be opened, read, written or renamed
  // --- model files and recordings (include/aether/io/) ---
  invalid_sidecar = 40,       ///< a `.rvne.json` that is not JSON, lacks a fixed key or has a bad value
  blob_mismatch = 41,         ///< a sidecar's blob_sha256 differs from its blob's bytes
  invalid_data = 42,          ///< recording metadata, a labels CSV or a data set that cannot be used
};

/// Short, stable name of a code (e.g. "shape_mismatch").
inline const char* errc_name(Errc c) noexcept {
  switch (c) {
    case Errc::ok: return "ok";
    case Errc::invalid_config: return "invalid_config";
    case Errc::shape_mismatch: return "shape_mismatch";
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::cache_full: return "cache_full";
    case Errc::truncated: return "truncated";
    case Errc::bad_magic: return "bad_magic";
    case Errc::unsupported_version: return "unsupported_version";
    case Errc::unsupported_flags: return "unsupported_flags";
    case Errc::trailing_bytes: return "trailing_bytes";
    case Errc::checksum_mismatch: return "checksum_mismatch";
    case Errc::invalid_header: return "invalid_header";
    case Errc::layout_mismatch: return "layout_mismatch";
    case Errc::io_error: return "io_error";
    case Errc::invalid_sidecar: return "invalid_sidecar";
    case Errc::blob_mismatch: return "blob_mismatch";
    case Errc::invalid_data: return "invalid_data";
  }
  return "unknown";
}

/// The exception thrown for every caller-caused failure. `what()` reads
/// "<code name>: <message naming the offending value>".
class Error : public std::runtime_error {
 public:
  Error(Errc code, const std::string& message)
      : std::runtime_error(std::string(errc_name(code)) + ": " + message), code_(code) {}

  /// The machine-readable reason.
  Errc code() const noexcept { return code_; }

 private:
  Errc code_;
};

namespace detail {
/// Throws `Error(code, message)`. Callers build the message only on the
/// failing branch (`if (bad) fail(...)`), so checks on hot paths never allocate.
[[noreturn]] inline void fail(Errc code, const std::string& message) { throw Error(code, message); }
}  // namespace detail

}  // namespace aether
