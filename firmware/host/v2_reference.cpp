/// firmware_v2_reference: the host library's logits for the test image's v2
/// checks (firmware/node_image.c, lines starting "v2 "), computed without
/// the node: the same blobs and real raw frames (v2_blobs.hpp) through the
/// blob's featuriser (`io::featurize_iq`, as `aether_node_push_csi` runs it)
/// into `TemporalModel::forward` (ring: the last kWindow featurised frames,
/// positions from 0, the blob's pooling) and `TemporalStream` (capacity
/// kCapacity, sliding-window eviction, fp32 cache). .ci/firmware.sh compares
/// the image's fp32-cache v2 lines with this output (firmware_compare).
///
///   firmware_v2_reference --recording FILE.csi.jsonl [--v2-blob FILE.rvne]
///
/// Exit status (tools/cli.hpp): 0 printed, 1 a blob or frame is invalid, 2 usage or I/O error.
#include "tools/cli.hpp"
#include "v2_blobs.hpp"

#include <aether/io/featurizer.hpp>
#include <aether/temporal_model.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace {

constexpr std::size_t kWindow = 16, kCapacity = 16;  // node_image.c's kV2Window, kV2Capacity

using Model = aether::TemporalModel<float>;

void print(const char* prefix, std::size_t t, const float* logits, std::size_t n) {
  std::printf("%s t=%zu", prefix, t);
  for (std::size_t i = 0; i < n; ++i) std::printf(" %.9g", static_cast<double>(logits[i]));
  std::printf("\n");
}

// The ring lines of one blob: classify after every push.
void run_ring(const std::vector<std::uint8_t>& bytes, const char* name, const std::vector<firmware_v2::Frame>& frames) {
  const Model model(aether::rvne::parse(bytes));
  const std::size_t D = model.input_dim(), C = model.classes();
  std::vector<float> feats;  // featurised frames, row-major
  std::vector<float> row(D);
  char prefix[96];
  std::snprintf(prefix, sizeof prefix, "v2 ring %s", name);
  for (std::size_t t = 1; t <= frames.size(); ++t) {
    const firmware_v2::Frame& f = frames[t - 1];
    if (aether::io::featurize_iq(model.featurizer(), f.iq.data(), f.subcarriers, row.data()) != aether::io::FrameResult::ok) {
      std::printf("%s t=%zu skipped\n", prefix, t);
      continue;
    }
    feats.insert(feats.end(), row.begin(), row.end());
    const std::size_t n = feats.size() / D, first = n > kWindow ? n - kWindow : 0;
    const Eigen::Map<const Model::Matrix> x(feats.data() + first * D, static_cast<Eigen::Index>(n - first),
                                            static_cast<Eigen::Index>(D));
    const Model::Vector logits = model.forward(x, model.pool());
    print(prefix, t, logits.data(), C);
  }
}

// The stream lines of one blob (fp32 cache): every push's logits.
void run_stream(const std::vector<std::uint8_t>& bytes, const char* name,
                const std::vector<firmware_v2::Frame>& frames) {
  const Model model(aether::rvne::parse(bytes));
  const std::size_t C = model.classes();
  std::vector<float> row(model.input_dim());
  char prefix[96];
  std::snprintf(prefix, sizeof prefix, "v2 stream %s cache=f32", name);
  auto stream = model.make_stream(kCapacity, aether::Eviction::sliding_window);
  for (std::size_t t = 1; t <= frames.size(); ++t) {
    const firmware_v2::Frame& f = frames[t - 1];
    if (aether::io::featurize_iq(model.featurizer(), f.iq.data(), f.subcarriers, row.data()) != aether::io::FrameResult::ok) {
      std::printf("%s t=%zu skipped\n", prefix, t);
      continue;
    }
    print(prefix, t, stream.push(row.data()).data(), C);
  }
}

}  // namespace

int main(int argc, char** argv) {
  return aether_cli::guarded("firmware_v2_reference", [&]() -> int {
    std::string recording, v2_path;
    auto app = aether_cli::make_app("firmware_v2_reference",
                                    "Prints the host library's logits for node_image's v2 checks.");
    app->add_option("--recording", recording, "the real recording (.csi.jsonl) of the raw frames")->required();
    app->add_option("--v2-blob", v2_path, "the v2 test blob (default: the benchmark shape, seeded)");
    if (const auto rc = aether_cli::parse(*app, argc, argv)) return *rc;
    const std::vector<firmware_v2::Frame> frames = firmware_v2::frames(recording);
    const std::vector<std::uint8_t> v2 = firmware_v2::test_blob(v2_path);
    const std::vector<std::uint8_t> v2_f16 =
        aether::rvne::serialize(aether::rvne::parse(v2).converted(aether::rvne::Dtype::f16));
    // node_image's order: every ring, then the fp32-cache streams.
    run_ring(v2, "v2_f32", frames);
    run_ring(v2_f16, "v2_f16", frames);
    run_ring(v2, "v2_f32_unaligned", frames);
    run_stream(v2, "v2_f32", frames);
    run_stream(v2_f16, "v2_f16", frames);
    run_stream(v2, "v2_f32_unaligned", frames);
    return aether_cli::kExitOk;
  });
}
