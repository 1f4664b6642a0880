#pragma once
/// \file dataset/standardise.hpp
/// The dataset path's standardisation (overview: io/dataset.hpp), the
/// featuriser's step 5: `fit_standardisation` fits the per-feature offset
/// (mean) and scale (1/std) on given row ranges of the series (the training
/// windows' rows, see `rows_of_part` in dataset/assembly.hpp);
/// `standardise_series` applies them to every row in place.
///
/// Inputs: the Series of stage 1 (dataset/series.hpp), RowRanges.
/// Outputs: FeaturizerConfig::offset/scale (fit); the series' features
/// rewritten (apply).
///
/// Thread safety: free functions; both write their first argument, so no
/// concurrent calls on the same config or series. Cost: O(rows * input_dim)
/// time; the fit sums in double, O(input_dim) extra memory.

#include <aether/io/dataset/series.hpp>
#include <aether/io/featurizer.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace aether::io {

/// Fits step 5 (per-feature mean and 1/std, std below 1e-6 -> scale 1) on the
/// rows of `series` that belong to the windows given by `rows_used` (pairs of
/// series index and row range), in double for a stable sum.
struct RowRange {
  std::size_t series = 0, first = 0, count = 0;
};
inline void fit_standardisation(FeaturizerConfig& c, const std::vector<Series>& series,
                                const std::vector<RowRange>& rows_used) {
  const std::size_t d = c.input_dim;
  std::vector<double> sum(d, 0.0), sq(d, 0.0);
  std::size_t n = 0;
  for (const RowRange& r : rows_used) {
    const Series& s = series[r.series];
    for (std::size_t i = r.first; i < r.first + r.count; ++i) {
      for (std::size_t g = 0; g < d; ++g) {
        const double v = s.features(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(g));
        sum[g] += v;
        sq[g] += v * v;
      }
      ++n;
    }
  }
  c.offset.assign(d, 0.0f);
  c.scale.assign(d, 1.0f);
  if (n == 0) return;
  for (std::size_t g = 0; g < d; ++g) {
    const double mean = sum[g] / static_cast<double>(n);
    const double var = std::max(0.0, sq[g] / static_cast<double>(n) - mean * mean);
    const double sd = std::sqrt(var);
    c.offset[g] = static_cast<float>(mean);
    c.scale[g] = sd > 1e-6 ? static_cast<float>(1.0 / sd) : 1.0f;
  }
  if (c.constant_feature) {  // the constant stays 1
    c.offset[d - 1] = 0.0f;
    c.scale[d - 1] = 1.0f;
  }
}

/// Applies step 5 to every row (same arithmetic as `standardise`).
inline void standardise_series(const FeaturizerConfig& c, std::vector<Series>& series) {
  for (Series& s : series) {
    for (Eigen::Index i = 0; i < s.features.rows(); ++i) standardise(c, s.features.data() + i * s.features.cols());
  }
}

}  // namespace aether::io
