// The v2 blobs and raw frames the firmware images run (firmware/host: the
// embedder and the host reference share them, so both see the same bytes).
//
// - The test image's v2 blob (node_image): `test_blob`, the blob a
//   `--v2-blob FILE` names (firmware/host/CMakeLists.txt and .ci/firmware.sh
//   name the committed trained blob, firmware/data/ruview_order_v2.rvne, by
//   default: train_blob on the real recording below, firmware/data/README.md),
//   else (an empty path) the benchmark shape (`rvne::v2_benchmark_header`)
//   with `rvne::init_trainable` weights. Its input width and class count are
//   the blob's: the images read them from its header.
// - The report's second v2 blob (cost_image, firmware_report):
//   `report_header()`, the training default (`train::V2Defaults`) for 16
//   features and 4 classes with the featuriser train_blob gives 64-subcarrier
//   frames, seeded weights (cost does not depend on their values).
// - The raw frames: node `kFrameNode`'s first `kFrameCount` raw_csi records
//   of a committed real recording (tests/data/ruview-cfda8db), 64- and
//   128-subcarrier frames as the radio interleaves them (the 128-subcarrier
//   ones are filtered out by the blob's featuriser: AETHER_SKIPPED_FRAME).
#pragma once

#include <aether/io/csi_recording.hpp>
#include <aether/rvne/codec.hpp>
#include <aether/rvne/file.hpp>
#include <aether/rvne/init.hpp>
#include <aether/train/v2_defaults.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace firmware_v2 {

namespace rvne = aether::rvne;

inline constexpr std::uint64_t kSeed = 0xC5110007DEADBEEFull;  ///< init_trainable's seed for generated blobs
inline constexpr std::int64_t kFrameNode = 1;
inline constexpr std::size_t kFrameCount = 48;

/// The csi-amplitude featuriser train_blob writes into a v2 blob for
/// 64-subcarrier frames: version 1, log amplitude, frame centring, fitted
/// standardisation (the blob's features.offset/scale tensors), filter 64.
inline rvne::FeaturizerDesc csi64_standardised() {
  rvne::FeaturizerDesc f;
  f.kind = rvne::FeatureKind::csi_amplitude;
  f.version = 1;
  f.flags = rvne::kFeatureLog | rvne::kFeatureCentre | rvne::kFeatureStandardised;
  f.subcarriers = 64;
  return f;
}

/// The report's second v2 shape: the training default (V2Defaults) for
/// 16 features, 4 classes and 64-subcarrier frames.
inline rvne::Header report_header() { return aether::train::V2Defaults{}.shape(16, 4, csi64_standardised()); }

/// Serialised blob of `h` with seeded trainable weights.
inline std::vector<std::uint8_t> seeded(const rvne::Header& h) { return rvne::serialize(rvne::init_trainable(h, kSeed)); }

/// The test image's v2 blob: the file `path` when not empty, else the seeded benchmark shape.
inline std::vector<std::uint8_t> test_blob(const std::string& path) {
  if (!path.empty()) return rvne::serialize(rvne::read_file(path));
  return seeded(rvne::v2_benchmark_header());
}

/// One raw frame: its subcarrier count and I/Q bytes (2 per subcarrier, as sent).
struct Frame {
  std::uint16_t subcarriers = 0;
  std::vector<std::int8_t> iq;
};

/// The first kFrameCount raw frames of node kFrameNode in the recording at `path`.
inline std::vector<Frame> frames(const std::string& path) {
  const aether::io::Recording rec = aether::io::read_recording(path);
  const aether::io::NodeRecords* node = rec.node(kFrameNode);
  std::vector<Frame> out;
  if (node == nullptr) return out;
  for (const aether::io::CsiFrame& f : node->frames) {
    if (out.size() == kFrameCount) break;
    if (f.iq.empty()) continue;
    out.push_back({f.subcarriers, f.iq});
  }
  return out;
}

}  // namespace firmware_v2
