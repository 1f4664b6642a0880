#pragma once
/// \file rvne/file.hpp
/// `.rvne` files: `read_file` (validates before it allocates) and the atomic
/// `write_file` (unique temporary, flush, rename). Host only: needs
/// <filesystem>, <fstream> and <random>; a node includes rvne/codec.hpp instead.

#include <aether/detail/atomic_file.hpp>
#include <aether/error.hpp>
#include <aether/rvne/codec.hpp>
#include <aether/rvne/crc32.hpp>
#include <aether/rvne/format.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <system_error>
#include <vector>

namespace aether::rvne {

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

namespace detail {
/// The whole of `path`, at most `max_bytes` bytes. A regular file larger
/// than that is refused from its size before anything is read; a file with
/// no size (pipe, device) is read in 64 KiB pieces and refused as soon as it
/// passes `max_bytes`. Throws io_error (cannot open / read) or
/// limit_exceeded, naming the path and the limit. Cost: one pass, memory
/// at most max_bytes + 64 KiB.
inline std::vector<std::uint8_t> read_bytes_capped(const std::filesystem::path& path, std::uint64_t max_bytes) {
  const std::string where = path.string() + ": ";
  std::ifstream in(path, std::ios::binary);
  if (!in) aether::detail::fail(Errc::io_error, where + "cannot open for reading");
  auto too_large = [&](const std::string& what) {
    aether::detail::fail(Errc::limit_exceeded, where + what + ", more than the " + std::to_string(max_bytes) +
                                                   "-byte limit for this file");
  };
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) {
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    if (!ec && size > max_bytes) too_large(std::to_string(size) + " bytes");
  }
  std::vector<std::uint8_t> bytes;
  constexpr std::size_t kPiece = std::size_t{1} << 16;
  for (;;) {
    const std::size_t have = bytes.size();
    bytes.resize(have + kPiece);
    in.read(reinterpret_cast<char*>(bytes.data() + have), static_cast<std::streamsize>(kPiece));
    bytes.resize(have + static_cast<std::size_t>(in.gcount()));
    if (bytes.size() > max_bytes) too_large("a file without a size that goes on");
    if (!in) break;
  }
  if (in.bad()) aether::detail::fail(Errc::io_error, where + "read failed");
  return bytes;
}
}  // namespace detail

/// Reads and validates a blob file. The file size is taken from the open
/// stream and rules 1-5 are checked on it and the 24 header bytes before
/// anything is allocated, so a hostile weights_len never causes a large
/// allocation; then the weights are read straight into the result (one
/// allocation of weights_len bytes) and rules 6-7 checked. A file with no
/// size (not a regular file: a pipe, /dev/zero) is read whole up to
/// `kMaxUnsizedBlobSize` (limit_exceeded beyond) and then parsed. Throws
/// `aether::Error`: io_error if the file cannot be opened or read, otherwise
/// the code of the first failing rule; messages start with the path.
inline Blob read_file(const std::filesystem::path& path) {
  const std::string where = path.string() + ": ";
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec)) {
    const std::vector<std::uint8_t> bytes = detail::read_bytes_capped(path, kMaxUnsizedBlobSize);
    const ParseResult parsed = try_parse(bytes.data(), bytes.size());
    if (!parsed) detail::throw_result(parsed, where);
    return parsed.view.to_blob();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) aether::detail::fail(Errc::io_error, where + "cannot open for reading");
  in.seekg(0, std::ios::end);
  const std::streamoff end = static_cast<std::streamoff>(in.tellg());
  if (!in || end < 0) aether::detail::fail(Errc::io_error, where + "cannot determine the file size");
  const std::uint64_t size = static_cast<std::uint64_t>(end);
  ParseResult r;
  if (size < kMinBlobSize) {
    detail::reject(r, Errc::truncated, "file is %llu bytes, shorter than the 28-byte minimum (header + crc)",
                   static_cast<unsigned long long>(size));
    detail::throw_result(r, where);
  }
  std::uint8_t head[kHeaderSize];
  in.seekg(0, std::ios::beg);
  if (!in.read(reinterpret_cast<char*>(head), kHeaderSize)) {
    aether::detail::fail(Errc::io_error, where + "cannot read the header");
  }
  const detail::RawHeader raw = detail::decode_header(head);
  if (!detail::check_prefix(raw, size, r)) detail::throw_result(r, where);
  if constexpr (std::numeric_limits<std::size_t>::max() < kMaxWeightsLen) {  // 32-bit hosts only
    if (raw.weights_len > std::numeric_limits<std::size_t>::max() - kMinBlobSize) {
      aether::detail::fail(Errc::io_error, where + "weights do not fit in this platform's address space");
    }
  }
  if (raw.version == kVersion2) {  // self-describing: validate the whole blob as in memory (size known to be 132 + W)
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
    in.seekg(0, std::ios::beg);
    if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()))) {
      aether::detail::fail(Errc::io_error, where + "short read (was the file truncated while reading?)");
    }
    if (in.peek() != std::ifstream::traits_type::eof()) {
      aether::detail::fail(Errc::io_error, where + "file grew while reading");
    }
    const ParseResult parsed = try_parse(bytes.data(), bytes.size());
    if (!parsed) detail::throw_result(parsed, where);
    return parsed.view.to_blob();
  }
  Blob b;
  b.header = raw.header;
  b.weights.resize(static_cast<std::size_t>(raw.weights_len));  // bounded by the actual file size (rule 5)
  std::uint8_t tail[kCrcSize];
  if (!in.read(reinterpret_cast<char*>(b.weights.data()), static_cast<std::streamsize>(b.weights.size())) ||
      !in.read(reinterpret_cast<char*>(tail), kCrcSize)) {
    aether::detail::fail(Errc::io_error, where + "short read (was the file truncated while reading?)");
  }
  if (in.peek() != std::ifstream::traits_type::eof()) {
    aether::detail::fail(Errc::io_error, where + "file grew while reading");
  }
  const std::uint32_t computed = crc32(b.weights.data(), b.weights.size(), crc32(head, kHeaderSize));
  if (!detail::check_crc(detail::load_u32(tail), computed, r)) detail::throw_result(r, where);
  if (!detail::check_fields(raw.header, raw.weights_len, r)) detail::throw_result(r, where);
  return b;
}

namespace detail {
/// Writes `n` bytes to `path` atomically (the procedure `write_file`
/// documents; aether/detail/atomic_file.hpp). Shared by every writer of
/// model files (blobs, sidecars). Throws io_error.
inline void write_bytes_atomic(const std::filesystem::path& path, const std::uint8_t* data, std::size_t n) {
  aether::detail::AtomicFile f(path);
  f.write(data, n);
  f.commit();
}
}  // namespace detail

/// Writes `blob` to `path` atomically: serialises (so an invalid header throws
/// invalid_header before the disk is touched), writes a uniquely named
/// temporary in the same directory, flushes it (fsync on POSIX) and renames it
/// over `path`. Readers see either the old file or the complete new one. On
/// any failure the temporary is removed and io_error is thrown. Concurrent
/// writers to the same path are safe (last rename wins). A symlink at `path`
/// is replaced by the new file, not followed; the new file gets default
/// permissions.
inline void write_file(const std::filesystem::path& path, const Blob& blob) {
  const std::vector<std::uint8_t> bytes = serialize(blob);
  detail::write_bytes_atomic(path, bytes.data(), bytes.size());
}

}  // namespace aether::rvne
