#pragma once
/// \file error.hpp
/// The library's single error type: `aether::Error`, carrying an `aether::Errc`.
///
/// Every failure a caller can cause (a bad configuration, mismatched shapes,
/// untrusted bytes, a full cache, an unreadable file) is reported by throwing
/// `aether::Error`; nothing is validated with `assert()`. Non-throwing
/// variants (`try_*`) return the same code instead.
///
/// Embedded profile (`-fno-exceptions`): `AETHER_EXCEPTIONS` is 0, nothing
/// throws, and `detail::fail` (reached only through a throwing API, i.e. a
/// violated precondition on a node, which calls the non-throwing forms)
/// calls the fatal-error hook instead: by default `std::abort()`; a firmware
/// overrides it by compiling with `-DAETHER_FATAL_HANDLER=my_fatal` and
/// defining `extern "C" void my_fatal(int code, const char* message)` (code:
/// the `Errc` value; must not return: if it does, `std::abort()` follows).

#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

/// 1 when the translation unit is compiled with C++ exceptions, else 0.
#if !defined(AETHER_EXCEPTIONS)
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define AETHER_EXCEPTIONS 1
#else
#define AETHER_EXCEPTIONS 0
#endif
#endif

#if defined(AETHER_FATAL_HANDLER)
/// The firmware's fatal-error hook (see above); C linkage so C code can define it.
extern "C" void AETHER_FATAL_HANDLER(int code, const char* message);
#endif

namespace aether {

/// What went wrong. Stable numeric values: they may be logged or compared.
enum class Errc : std::uint8_t {
  ok = 0,
  // --- kernels, caches, heads ---
  invalid_config = 1,    ///< a configuration field out of range (block_size 0, ...)
  shape_mismatch = 2,    ///< tensor shapes that do not fit together
  invalid_argument = 3,  ///< any other bad argument (keep-mask length, capacity 0, ...)
  cache_full = 4,        ///< append to a full KV cache without an eviction policy
  limit_exceeded = 5,    ///< a request beyond a documented resource limit (e.g. ModelLimits)
  // --- .rvne container (RVNE.md validation order) ---
  truncated = 10,             ///< fewer bytes than the header or weights_len require
  bad_magic = 11,             ///< first four bytes are not "ENVR"
  unsupported_version = 12,   ///< version field is neither 1 nor 2
  unsupported_flags = 13,     ///< unknown flag bit or non-zero reserved byte
  trailing_bytes = 14,        ///< more bytes than 28 + weights_len
  checksum_mismatch = 15,     ///< CRC-32 does not match
  invalid_header = 16,        ///< zero dims, indivisible heads, misaligned weights_len
  layout_mismatch = 17,       ///< weights_len differs from the model layout size
  unsupported_feature = 18,   ///< a v2 descriptor names a block, activation, pooling, backend, gate or featuriser this library does not know
  // --- environment ---
  io_error = 30,              ///< a file could not be opened, read, written or renamed
  // --- model files and recordings (include/aether/io/) ---
  invalid_sidecar = 40,       ///< a `.rvne.json` that is not JSON, lacks a fixed key or has a bad value
  blob_mismatch = 41,         ///< a sidecar's blob_sha256 differs from its blob's bytes
  invalid_data = 42,          ///< recording metadata, a labels CSV or a data set that cannot be used
  // --- node (include/aether/node.hpp, include/aether/c/) ---
  no_memory = 50,             ///< caller memory too small, or an allocation at init failed
  invalid_state = 51,         ///< an operation the object's state does not allow (classify with no frame)
  check_failed = 52,          ///< a built-in self test found a wrong result
  non_finite = 53,            ///< a frame holding NaN or an infinity (refused; state unchanged)
  no_featuriser = 54,         ///< raw CSI pushed to a node whose blob carries no csi-amplitude featuriser (v1)
  skipped_frame = 55,         ///< not an error: the featuriser filtered the frame out (subcarrier count, all null); nothing changed
};

/// Short, stable name of a code (e.g. "shape_mismatch").
inline const char* errc_name(Errc c) noexcept {
  switch (c) {
    case Errc::ok: return "ok";
    case Errc::invalid_config: return "invalid_config";
    case Errc::shape_mismatch: return "shape_mismatch";
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::cache_full: return "cache_full";
    case Errc::limit_exceeded: return "limit_exceeded";
    case Errc::truncated: return "truncated";
    case Errc::bad_magic: return "bad_magic";
    case Errc::unsupported_version: return "unsupported_version";
    case Errc::unsupported_flags: return "unsupported_flags";
    case Errc::trailing_bytes: return "trailing_bytes";
    case Errc::checksum_mismatch: return "checksum_mismatch";
    case Errc::invalid_header: return "invalid_header";
    case Errc::layout_mismatch: return "layout_mismatch";
    case Errc::unsupported_feature: return "unsupported_feature";
    case Errc::io_error: return "io_error";
    case Errc::invalid_sidecar: return "invalid_sidecar";
    case Errc::blob_mismatch: return "blob_mismatch";
    case Errc::invalid_data: return "invalid_data";
    case Errc::no_memory: return "no_memory";
    case Errc::invalid_state: return "invalid_state";
    case Errc::check_failed: return "check_failed";
    case Errc::non_finite: return "non_finite";
    case Errc::no_featuriser: return "no_featuriser";
    case Errc::skipped_frame: return "skipped_frame";
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

/// The fatal-error hook: `AETHER_FATAL_HANDLER(code, message)` when defined,
/// then `std::abort()`. Called by `detail::fail` when exceptions are off.
[[noreturn]] inline void fatal_error(Errc code, const char* message) noexcept {
#if defined(AETHER_FATAL_HANDLER)
  AETHER_FATAL_HANDLER(static_cast<int>(code), message);
#else
  (void)code;
  (void)message;
#endif
  std::abort();
}

namespace detail {
/// Throws `Error(code, message)` (exceptions off: `fatal_error`). Callers
/// build the message only on the failing branch (`if (bad) fail(...)`), so
/// checks on hot paths never allocate.
[[noreturn]] inline void fail(Errc code, const std::string& message) {
#if AETHER_EXCEPTIONS
  throw Error(code, message);
#else
  fatal_error(code, message.c_str());
#endif
}
}  // namespace detail

}  // namespace aether
