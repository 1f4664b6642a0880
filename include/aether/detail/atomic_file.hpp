#pragma once
/// \file detail/atomic_file.hpp
/// `AtomicFile`: writes a file so that readers see either the old file or
/// the complete new one, never a part (unique temporary beside the target,
/// flush, fsync on POSIX, rename). Used by every writer of files: blobs and
/// sidecars (rvne::write_file, io::save_model), the simulator's recordings,
/// the tools' dumps. Host only (<filesystem>, <random>).

#include <aether/error.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>  // fsync, fileno
#define AETHER_HAVE_FSYNC 1
#endif

namespace aether::detail {

/// Opens a new file exclusively ("x": fails if it exists). Null on failure.
inline std::FILE* open_exclusive(const std::filesystem::path& p) noexcept {
#if defined(_WIN32)
  return ::_wfopen(p.c_str(), L"wbx");
#else
  return std::fopen(p.c_str(), "wbx");
#endif
}

/// One file being replaced atomically. The constructor creates a uniquely
/// named temporary in the target's folder; `write` appends to it; `commit`
/// flushes, fsyncs, closes and renames it over the target. Any failure
/// throws io_error naming the target and removes the temporary, and so does
/// destruction without commit (an exception on the way out): the target is
/// then as it was. A symlink at the target is replaced, not followed; the
/// new file gets default permissions. Concurrent writers to one target are
/// safe (last rename wins). Not thread-safe per object; neither copyable
/// nor movable.
class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path path) : path_(std::move(path)), where_(path_.string() + ": ") {
    if (path_.filename().empty()) fail(Errc::io_error, where_ + "not a file name");
    // Unpredictable suffix; the exclusive open makes collisions harmless.
    std::uint64_t salt = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                         static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(this));
#if AETHER_EXCEPTIONS
    try {
      std::random_device rd;
      salt ^= (std::uint64_t{rd()} << 32) ^ rd();
    } catch (const std::exception&) {
      // No entropy source: the clock and address above still differ between calls.
    }
#endif  // without exceptions (no file system there anyway): the clock and address only
    for (int attempt = 0; attempt < 16 && file_ == nullptr; ++attempt) {
      char suffix[32];
      std::snprintf(suffix, sizeof suffix, ".tmp-%016llx", static_cast<unsigned long long>(salt));
      salt = salt * 6364136223846793005ull + 1442695040888963407ull;
      tmp_ = path_;
      tmp_ += suffix;
      file_ = open_exclusive(tmp_);
    }
    if (file_ == nullptr) fail(Errc::io_error, where_ + "cannot create a temporary file next to it");
  }
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile() { discard(); }

  /// Appends `n` bytes (buffered). Throws io_error when the write fails
  /// (a full disk, a file size limit), the temporary removed.
  void write(const void* data, std::size_t n) {
    if (n != 0 && std::fwrite(data, 1, n, file_) != n) failed();
  }
  void write(const std::string& text) { write(text.data(), text.size()); }

  /// Flushes, fsyncs (POSIX), closes and renames the temporary over the
  /// target. Throws io_error on any failure (the temporary removed, the
  /// target as it was). Call once.
  void commit() {
    bool ok = std::fflush(file_) == 0;
#if defined(AETHER_HAVE_FSYNC)
    ok = ok && ::fsync(::fileno(file_)) == 0;
#endif
    ok = (std::fclose(file_) == 0) && ok;
    file_ = nullptr;
    if (!ok) failed();
    std::error_code ec;
    std::filesystem::rename(tmp_, path_, ec);
    if (ec) {
      const std::string reason = ec.message();
      discard();
      fail(Errc::io_error, where_ + "cannot rename the temporary into place: " + reason);
    }
    tmp_.clear();
  }

 private:
  void discard() noexcept {
    if (file_ != nullptr) std::fclose(file_);
    file_ = nullptr;
    std::error_code ignored;
    if (!tmp_.empty()) std::filesystem::remove(tmp_, ignored);
    tmp_.clear();
  }
  [[noreturn]] void failed() {
    const std::string tmp = tmp_.string();
    discard();
    fail(Errc::io_error, where_ + "writing the temporary " + tmp + " failed");
  }

  std::filesystem::path path_, tmp_;
  std::string where_;
  std::FILE* file_ = nullptr;
};

}  // namespace aether::detail
