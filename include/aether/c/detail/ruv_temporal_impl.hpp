// Internal: the implementation of aether/c/ruv_temporal.h (ring-mode nodes
// behind the firmware's names and ESP-IDF codes).
#pragma once

#include <aether/c/aether.h>
#include <aether/c/ruv_temporal.h>

extern "C" {

esp_err_t ruv_temporal_esp_err(aether_status status) {
  switch (status) {
    case AETHER_OK: return ESP_OK;
    case AETHER_ERR_NO_MEMORY:
    case AETHER_ERR_LIMIT_EXCEEDED: return ESP_ERR_NO_MEM;
    case AETHER_ERR_INVALID_STATE: return ESP_ERR_INVALID_STATE;
    case AETHER_ERR_TRUNCATED:
    case AETHER_ERR_TRAILING_BYTES: return ESP_ERR_INVALID_SIZE;
    case AETHER_ERR_CHECKSUM: return ESP_ERR_INVALID_CRC;
    case AETHER_ERR_UNSUPPORTED_VERSION: return ESP_ERR_INVALID_VERSION;
    case AETHER_SKIPPED_FRAME: return ESP_ERR_NOT_FOUND;
    case AETHER_ERR_NO_FEATURISER:
    case AETHER_ERR_UNSUPPORTED_FEATURE: return ESP_ERR_NOT_SUPPORTED;
    case AETHER_ERR_INVALID_CONFIG:
    case AETHER_ERR_SHAPE_MISMATCH:
    case AETHER_ERR_INVALID_ARGUMENT:
    case AETHER_ERR_NON_FINITE:
    case AETHER_ERR_BAD_MAGIC:
    case AETHER_ERR_UNSUPPORTED_FLAGS:
    case AETHER_ERR_INVALID_HEADER:
    case AETHER_ERR_LAYOUT_MISMATCH: return ESP_ERR_INVALID_ARG;
    default: return ESP_FAIL;
  }
}

esp_err_t ruv_temporal_init(const uint8_t* weights, size_t weights_len, uint32_t input_dim, uint32_t window_len,
                            uint32_t n_classes, ruv_temporal_ctx_t** out_ctx) {
  const aether_node_config cfg{input_dim, window_len, n_classes, AETHER_MODE_RING, 0, AETHER_CACHE_F32};
  aether_node* node = nullptr;
  if (out_ctx == nullptr) return ESP_ERR_INVALID_ARG;
  const aether_status s = aether_node_init(weights, weights_len, &cfg, nullptr, 0, &node);
  if (s == AETHER_OK) *out_ctx = reinterpret_cast<ruv_temporal_ctx_t*>(node);
  return ruv_temporal_esp_err(s);
}

esp_err_t ruv_temporal_push(ruv_temporal_ctx_t* ctx, const float* frame) {
  return ruv_temporal_esp_err(aether_node_push(reinterpret_cast<aether_node*>(ctx), frame, nullptr));
}

esp_err_t ruv_temporal_classify(ruv_temporal_ctx_t* ctx, float* logits, uint32_t n_classes) {
  return ruv_temporal_esp_err(aether_node_classify(reinterpret_cast<aether_node*>(ctx), logits, n_classes));
}

void ruv_temporal_destroy(ruv_temporal_ctx_t* ctx) { aether_node_destroy(reinterpret_cast<aether_node*>(ctx)); }

esp_err_t ruv_temporal_kernel_self_test(void) {
  return aether_node_self_test() == AETHER_OK ? ESP_OK : ESP_FAIL;
}

}  // extern "C"
