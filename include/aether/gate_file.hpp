#pragma once
/// \file gate_file.hpp
/// Reading FastGRNN gate weights stored as a `NAME.gate.f32` file (the gate
/// conformance README's layout, referenced by the sidecar's `gate.weights`):
/// raw little-endian float32, w_gate `(H, I)`, u_gate `(H, H)`, w_update
/// `(H, I)`, u_update `(H, H)`, bias_gate `(H)`, bias_update `(H)`, zeta, nu.
/// Host-safe: the standard library and rvne/file.hpp's reader only (no JSON;
/// the sidecar itself is read by the tools layer, which hands the path and
/// dimensions here).

#include <aether/error.hpp>
#include <aether/fast_grnn_gate.hpp>
#include <aether/rvne/file.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace aether {

/// Decodes `size` bytes in the `.gate.f32` layout (little-endian on any host).
/// Throws `Errc::limit_exceeded` for dimensions beyond
/// `FastGrnnGate::kMaxPackedSize` weights, `Errc::invalid_argument` for a
/// byte count that is not `4 * FastGrnnGate<float>::packed_size(I, H)`
/// (naming both) or a non-finite weight (naming field and index).
inline FastGrnnGate<float> gate_from_bytes(std::size_t input_dim, std::size_t hidden_dim, const std::uint8_t* bytes,
                                           std::size_t size) {
  const std::size_t want = FastGrnnGate<float>::checked_packed_size(input_dim, hidden_dim);
  if (size != want * 4) {
    detail::fail(Errc::invalid_argument, "gate weights: " + std::to_string(size) + " bytes, expected " +
                                             std::to_string(want * 4) + " (" + std::to_string(want) +
                                             " floats for input_dim " + std::to_string(input_dim) + ", hidden_dim " +
                                             std::to_string(hidden_dim) + ")");
  }
  std::vector<float> w(want);
  for (std::size_t e = 0; e < want; ++e) {
    const std::uint8_t* b = bytes + 4 * e;
    const std::uint32_t u = std::uint32_t(b[0]) | std::uint32_t(b[1]) << 8 | std::uint32_t(b[2]) << 16 |
                            std::uint32_t(b[3]) << 24;
    std::memcpy(&w[e], &u, 4);
  }
  return FastGrnnGate<float>::from_packed(input_dim, hidden_dim, w.data(), w.size());
}

/// Reads a `.gate.f32` file, never more bytes than the dimensions call for
/// (a larger file, or an endless one such as /dev/zero, is refused as it
/// passes that size). Throws `Errc::io_error` naming the path when it cannot
/// be read, `Errc::limit_exceeded` for a larger file, else as `gate_from_bytes`.
inline FastGrnnGate<float> read_gate_file(const std::string& path, std::size_t input_dim, std::size_t hidden_dim) {
  const std::size_t want = 4 * FastGrnnGate<float>::checked_packed_size(input_dim, hidden_dim);
  const std::vector<std::uint8_t> bytes = rvne::detail::read_bytes_capped(path, want);
  return gate_from_bytes(input_dim, hidden_dim, bytes.data(), bytes.size());
}

/// Reads a `.gate.f32` file as floats in the layout (for `ModelGate::layers`).
inline std::vector<float> read_gate_weights(const std::string& path, std::size_t input_dim, std::size_t hidden_dim) {
  return read_gate_file(path, input_dim, hidden_dim).packed();
}

/// The weight sets of a model's `.gate.f32` file (`bytes`, `size`): one
/// record per layer in blob order, or one record shared by every layer
/// (`layers` = the blob's layer count). Each record is decoded and checked as
/// `gate_from_bytes`. Throws `Errc::limit_exceeded` as `gate_from_bytes`,
/// `Errc::invalid_argument` when `size` is not 1 or `layers` records
/// (naming both).
inline std::vector<std::vector<float>> gate_layers_from_bytes(std::size_t input_dim, std::size_t hidden_dim,
                                                              std::size_t layers, const std::uint8_t* bytes,
                                                              std::size_t size) {
  const std::size_t record = 4 * FastGrnnGate<float>::checked_packed_size(input_dim, hidden_dim);
  const std::size_t count = size / record;
  if (size % record != 0 || (count != 1 && count != layers)) {
    detail::fail(Errc::invalid_argument, "gate weights: " + std::to_string(size) + " bytes, expected " +
                                             std::to_string(record) + " (one gate for every layer) or " +
                                             std::to_string(record * layers) + " (one per layer, " +
                                             std::to_string(layers) + " layers)");
  }
  std::vector<std::vector<float>> out;
  for (std::size_t r = 0; r < count; ++r) {
    out.push_back(gate_from_bytes(input_dim, hidden_dim, bytes + r * record, record).packed());
  }
  return out;
}

/// Little-endian bytes of weight sets in the layout, concatenated (the
/// inverse of `gate_layers_from_bytes`; one set = a `.gate.f32` file).
inline std::vector<std::uint8_t> gate_bytes(const std::vector<std::vector<float>>& sets) {
  std::vector<std::uint8_t> out;
  for (const std::vector<float>& w : sets) {
    for (float f : w) {
      std::uint32_t u;
      std::memcpy(&u, &f, 4);
      for (int b = 0; b < 4; ++b) out.push_back(static_cast<std::uint8_t>(u >> (8 * b)));
    }
  }
  return out;
}

}  // namespace aether
