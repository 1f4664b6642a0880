#pragma once
// Shared by aether's benchmark programs: deterministic inputs, a reporter that
// records every run for the end-of-run summary, own-flag parsing and the
// summary's time lookup. Not part of the library.

#include <aether/aether.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace aether_bench {

/// Head shape of the seed benchmark: 4 query heads x 32 dims.
constexpr std::size_t kQHeads = 4;
constexpr std::size_t kHeadDim = 32;

/// Fills `t` with `sin(a * i + b)` (or cos) over its flat index i: the seed
/// benchmark's deterministic inputs, identical for every path compared.
inline void fill_wave(aether::Tensor3<float>& t, double a, double b, bool cosine) {
  float* p = t.data();
  for (std::size_t i = 0; i < t.size(); ++i) {
    const double x = a * static_cast<double>(i) + b;
    p[i] = static_cast<float>(cosine ? std::cos(x) : std::sin(x));
  }
}

/// q `(n, q_heads, d)`, k and v `(n, kv_heads, d)`:
/// q[i] = sin(0.01 i), k[i] = cos(0.013 i), v[i] = sin(0.007 i + 1).
struct Inputs {
  aether::Tensor3<float> q, k, v;
  Inputs(std::size_t n, std::size_t q_heads, std::size_t kv_heads, std::size_t d)
      : q(n, q_heads, d), k(n, kv_heads, d), v(n, kv_heads, d) {
    fill_wave(q, 0.01, 0.0, /*cosine=*/false);
    fill_wave(k, 0.013, 0.0, /*cosine=*/true);
    fill_wave(v, 0.007, 1.0, /*cosine=*/false);
  }
};

/// Times one streaming decode step of `cfg` at cache length `t` (the state's
/// range(0)): a cache holding tokens 0 .. t-1 of `Inputs`, and every iteration
/// decodes the newest token into a caller view with a reused workspace (what a
/// steady-state stream pays for attention; appending is measured separately).
inline void time_decode_step(benchmark::State& state, const aether::TemporalHeadConfig& cfg) {
  const auto t = static_cast<std::size_t>(state.range(0));
  const Inputs in(t, cfg.q_heads, cfg.kv_heads, cfg.head_dim);
  const aether::SparseAttention<float> attn(cfg.sparse_config());
  aether::KvCache<float> cache(t, cfg.kv_heads, cfg.head_dim, cfg.block_size);
  cache.append_all(in.k, in.v);
  const aether::Tensor3View<const float> q1 = in.q.view().slice(t - 1, 1);
  aether::Tensor3<float> out(1, cfg.q_heads, cfg.head_dim);
  aether::Workspace<float> ws;
  attn.decode(q1, cache, out.view(), ws);  // sizes the workspace
  for (auto _ : state) {
    attn.decode(q1, cache, out.view(), ws);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
}

/// The seed benchmark's sparse configuration: W 16, B 32, globals {0},
/// causal, log-stride and landmarks on.
inline aether::SparseConfig seed_sparse_config() {
  aether::SparseConfig c;
  c.window = 16;
  c.block_size = 32;
  c.global_tokens = {0};
  c.causal = true;
  c.log_stride = true;
  c.landmarks = true;
  return c;
}

/// Seed head: sparse GQA backend, 4 q heads over `kv_heads` kv heads, d 32, seed W/B.
inline aether::TemporalHeadConfig seed_head_config(std::size_t kv_heads) {
  aether::TemporalHeadConfig h;
  h.backend = aether::Backend::SparseGqa;
  h.q_heads = kQHeads;
  h.kv_heads = kv_heads;
  h.head_dim = kHeadDim;
  const aether::SparseConfig s = seed_sparse_config();
  h.window = s.window;
  h.block_size = s.block_size;
  h.global_tokens.assign(s.global_tokens.begin(), s.global_tokens.end());
  h.causal = s.causal;
  h.log_stride = s.log_stride;
  h.landmarks = s.landmarks;
  return h;
}

/// Removes every `--name` (returns true if seen) from argv, so that
/// benchmark::Initialize never sees our own flags.
inline bool take_flag(int& argc, char** argv, const char* name) {
  bool seen = false;
  int w = 1;
  for (int r = 1; r < argc; ++r) {
    if (std::strcmp(argv[r], name) == 0) {
      seen = true;
    } else {
      argv[w++] = argv[r];
    }
  }
  argc = w;
  argv[argc] = nullptr;
  return seen;
}

/// Removes `--name=VALUE` from argv; returns VALUE of the last one, or "".
inline std::string take_value(int& argc, char** argv, const char* name) {
  const std::string prefix = std::string(name) + "=";
  std::string value;
  int w = 1;
  for (int r = 1; r < argc; ++r) {
    if (std::strncmp(argv[r], prefix.c_str(), prefix.size()) == 0) {
      value = argv[r] + prefix.size();
    } else {
      argv[w++] = argv[r];
    }
  }
  argc = w;
  argv[argc] = nullptr;
  return value;
}

/// Value of `--name=VALUE` (or `--name VALUE`) without removing it, or "".
inline std::string peek_value(int argc, char** argv, const char* name) {
  const std::string prefix = std::string(name) + "=";
  std::string value;
  for (int r = 1; r < argc; ++r) {
    if (std::strncmp(argv[r], prefix.c_str(), prefix.size()) == 0) value = argv[r] + prefix.size();
    if (std::strcmp(argv[r], name) == 0 && r + 1 < argc) value = argv[r + 1];
  }
  return value;
}

/// Where a summary CSV goes: next to `--benchmark_out` when given, else in
/// the working directory; an explicit path wins.
inline std::string csv_path(const std::string& explicit_path, const std::string& benchmark_out, const char* file) {
  if (!explicit_path.empty()) return explicit_path;
  if (!benchmark_out.empty()) {
    const auto slash = benchmark_out.find_last_of('/');
    if (slash != std::string::npos) return benchmark_out.substr(0, slash + 1) + file;
  }
  return file;
}

/// Forwards everything to the display reporter (console, JSON or CSV, per
/// --benchmark_format) and keeps a copy of every run, so the summary is
/// computed from exactly the runs that were displayed.
class RecordingReporter : public benchmark::BenchmarkReporter {
 public:
  explicit RecordingReporter(benchmark::BenchmarkReporter* display) : display_(display) {}

  bool ReportContext(const Context& context) override { return display_->ReportContext(context); }
  void ReportRuns(const std::vector<Run>& reports) override {
    runs_.insert(runs_.end(), reports.begin(), reports.end());
    display_->ReportRuns(reports);
  }
  void Finalize() override { display_->Finalize(); }

  const std::vector<Run>& runs() const noexcept { return runs_; }

 private:
  benchmark::BenchmarkReporter* display_;  // non-owning
  std::vector<Run> runs_;
};

/// Time per iteration of every (family, N), in ns: the median aggregate when
/// repetitions were requested, else the mean of the iteration runs. CPU time
/// by default, not wall time: the machine is shared, and a descheduled thread
/// should not count against the kernel (`wall` selects real time). Families
/// named in `wall_families` (multi-threaded ones, registered with UseRealTime)
/// always use real time.
class Results {
 public:
  explicit Results(const std::vector<benchmark::BenchmarkReporter::Run>& runs, bool wall = false,
                   const std::vector<std::string>& wall_families = {}) {
    std::map<Key, std::pair<double, int>> sums;
    std::map<CounterKey, std::pair<double, int>> counter_sums;
    for (const auto& r : runs) {
      if (r.error_occurred || r.report_big_o || r.report_rms) continue;
      // Keyed by the benchmark's argument, not complexity_n: aggregate runs
      // (mean, median, ...) do not carry complexity_n.
      const Key key{r.run_name.function_name, r.run_name.args.empty() ? 0 : std::stoll(r.run_name.args)};
      const bool real = wall || std::find(wall_families.begin(), wall_families.end(), key.first) != wall_families.end();
      const double t = real ? r.GetAdjustedRealTime() : r.GetAdjustedCPUTime();
      const double ns = t * 1e9 / benchmark::GetTimeUnitMultiplier(r.time_unit);
      if (r.run_type == benchmark::BenchmarkReporter::Run::RT_Aggregate) {
        if (r.aggregate_name == "median") {
          median_[key] = ns;
          for (const auto& [name, c] : r.counters) counter_median_[{key, name}] = c.value;
        }
      } else {
        auto& s = sums[key];
        s.first += ns;
        s.second += 1;
        for (const auto& [name, c] : r.counters) {
          auto& cs = counter_sums[{key, name}];
          cs.first += c.value;
          cs.second += 1;
        }
      }
    }
    for (const auto& [key, s] : sums) mean_[key] = s.first / s.second;
    for (const auto& [key, s] : counter_sums) counter_mean_[key] = s.first / s.second;
  }

  /// ns per iteration, or NaN when the benchmark did not run.
  double ns(const std::string& family, std::int64_t n) const {
    const Key key{family, n};
    if (auto it = median_.find(key); it != median_.end()) return it->second;
    if (auto it = mean_.find(key); it != mean_.end()) return it->second;
    return std::nan("");
  }

  /// User counter `name` of (family, N), chosen as `ns` chooses (the median
  /// aggregate, else the mean over iteration runs), or NaN when absent.
  double counter(const std::string& family, std::int64_t n, const std::string& name) const {
    const CounterKey key{{family, n}, name};
    if (auto it = counter_median_.find(key); it != counter_median_.end()) return it->second;
    if (auto it = counter_mean_.find(key); it != counter_mean_.end()) return it->second;
    return std::nan("");
  }

  bool empty() const noexcept { return median_.empty() && mean_.empty(); }

 private:
  using Key = std::pair<std::string, std::int64_t>;
  using CounterKey = std::pair<Key, std::string>;
  std::map<Key, double> median_, mean_;
  std::map<CounterKey, double> counter_median_, counter_mean_;
};

/// The 1-minute load average from /proc/loadavg, or NaN where there is none.
inline double load_average() {
  double load = std::nan("");
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = std::nan("");
    std::fclose(f);
  }
  return load;
}

/// How busy the machine looked while the benchmarks ran: the load average
/// before and after, and the median share of wall time that single-threaded
/// CPU-time runs spent off the CPU ((real - cpu) / real: another process had
/// the core). Families named in `wall_families` (multi-threaded) are left out.
struct MachineLoad {
  double load_before = std::nan("");
  double load_after = std::nan("");
  double descheduled = std::nan("");  // median (real - cpu) / real, in [0, 1]

  MachineLoad() = default;
  MachineLoad(double before, const std::vector<benchmark::BenchmarkReporter::Run>& runs,
              const std::vector<std::string>& wall_families)
      : load_before(before), load_after(load_average()) {
    std::vector<double> shares;
    for (const auto& r : runs) {
      if (r.error_occurred || r.run_type != benchmark::BenchmarkReporter::Run::RT_Iteration) continue;
      if (std::find(wall_families.begin(), wall_families.end(), r.run_name.function_name) != wall_families.end()) {
        continue;
      }
      if (r.real_accumulated_time <= 0) continue;
      shares.push_back(std::max(0.0, (r.real_accumulated_time - r.cpu_accumulated_time) / r.real_accumulated_time));
    }
    if (!shares.empty()) {
      std::nth_element(shares.begin(), shares.begin() + shares.size() / 2, shares.end());
      descheduled = shares[shares.size() / 2];
    }
  }

  /// True when the figures are likely depressed by other work: our own
  /// single-threaded runs lost more than 5% of their wall time. (The load
  /// average is printed, not judged: right after README command 1's build it
  /// is ~1 from the build itself.)
  bool busy() const { return descheduled > 0.05; }
};

/// "%*.*f" or "-" for NaN.
inline std::string fmt(double x, int width, int precision) {
  char buf[64];
  if (std::isnan(x)) {
    std::snprintf(buf, sizeof buf, "%*s", width, "-");
  } else {
    std::snprintf(buf, sizeof buf, "%*.*f", width, precision, x);
  }
  return buf;
}

/// CSV cell: "nan" for missing (gnuplot: `set datafile missing "nan"`).
inline std::string cell(double x) {
  if (std::isnan(x)) return "nan";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}

inline const char* build_flavour() {
#if AETHER_BENCH_NATIVE
  return "native (-march=native)";
#else
  return "portable (no -march)";
#endif
}

inline const char* isa_summary() {
#if defined(__AVX512F__)
  return "AVX-512";
#elif defined(__AVX2__) && defined(__FMA__)
  return "AVX2+FMA";
#elif defined(__AVX__)
  return "AVX";
#elif defined(__SSE2__)
  return "SSE2";
#else
  return "scalar/other";
#endif
}

/// The `main` of a bench with the common flags (--wall, --csv=PATH;
/// Google Benchmark's own pass through): registers with `register_all()`,
/// runs, then `summarize(results, os, csv_path, wall)` on stdout (stderr when
/// --benchmark_format is not console). `csv_file`: the default CSV name.
template <class Register, class Summarize>
int bench_main(int argc, char** argv, const char* csv_file, Register register_all, Summarize summarize) {
  const bool wall = take_flag(argc, argv, "--wall");
  const std::string csv_flag = take_value(argc, argv, "--csv");
  const std::string bench_out = peek_value(argc, argv, "--benchmark_out");
  const std::string format = peek_value(argc, argv, "--benchmark_format");

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_all();

  RecordingReporter reporter(benchmark::CreateDefaultDisplayReporter());
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  const Results results(reporter.runs(), wall);
  if (results.empty()) return 0;  // e.g. --benchmark_list_tests
  std::ostream& os = (format.empty() || format == "console") ? std::cout : std::cerr;
  summarize(results, os, csv_path(csv_flag, bench_out, csv_file), wall);
  return 0;
}

}  // namespace aether_bench
