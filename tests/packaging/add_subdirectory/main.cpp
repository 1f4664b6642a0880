// Consumer smoke test through add_subdirectory(aether): sparse kernel, GQA
// shapes, KV-cache decode. Exit 0 on success.
#include <aether/aether.hpp>

#include <cmath>
#include <cstddef>
#include <cstdio>

int main() {
  const std::size_t n = 64, q_heads = 4, kv_heads = 2, dim = 16;
  aether::Tensor3<float> q(n, q_heads, dim), k(n, kv_heads, dim), v(n, kv_heads, dim);
  for (std::size_t i = 0; i < q.size(); ++i) q.data()[i] = std::cos(0.11f * static_cast<float>(i));
  for (std::size_t i = 0; i < k.size(); ++i) k.data()[i] = std::sin(0.23f * static_cast<float>(i));
  for (std::size_t i = 0; i < v.size(); ++i) v.data()[i] = std::sin(0.05f * static_cast<float>(i) + 1.f);

  aether::SparseConfig cfg;
  cfg.window = 8;
  cfg.block_size = 8;
  cfg.causal = true;
  const aether::SparseAttention<float> attn(cfg);
  const aether::Tensor3<float> out = attn.forward(q, k, v);
  if (out.seq() != n || out.heads() != q_heads || out.dim() != dim) {
    std::fprintf(stderr, "FAILED: sparse forward shape\n");
    return 1;
  }
  if (attn.count_edges(n) == 0) {
    std::fprintf(stderr, "FAILED: count_edges\n");
    return 1;
  }

  // Decode of the last query over a cache holding all n tokens matches prefill.
  aether::KvCache<float> cache(n, kv_heads, dim, cfg.block_size);
  cache.append_all(k, v);
  const aether::Tensor3<float> last = attn.decode(q.view().slice(n - 1, 1), cache);
  float err = 0.f;
  for (std::size_t h = 0; h < q_heads; ++h)
    for (std::size_t d = 0; d < dim; ++d) err = std::fmax(err, std::fabs(last(0, h, d) - out(n - 1, h, d)));
  if (cache.size() != n || err > 1e-5f) {
    std::fprintf(stderr, "FAILED: decode vs prefill (cache %zu, max err %g)\n", cache.size(), double(err));
    return 1;
  }
  std::printf("consumer ok\n");
  return 0;
}
