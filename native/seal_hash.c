// sluice_seal: RFC 6962 leaf hashes and compact-range appends for a whole chunk of records.
//
// The store seals every event: one SHA-256 for its leaf and, amortized, one for a tree node.
// From JavaScript each hash is a call into OpenSSL with a fresh Buffer for the digest, and the
// call costs more than SHA-256 of a 300-byte record itself. Here one call hashes a chunk's
// records where they lie and writes each leaf into the chunk's buffer, then folds the leaves
// into the tree's frontier. The same OpenSSL (the one Node links) does the hashing, so the
// bytes are those of the JavaScript path (merkle.ts), which stays the fallback.

#include <stdint.h>
#include <string.h>
#include <node_api.h>
#include <openssl/sha.h>

#define HASH 32
// A frontier has one hash per set bit of the tree size; sizes stay below 2^53.
#define MAX_FRONTIER 64

static napi_value fail(napi_env env, const char *msg) {
  napi_throw_type_error(env, "SLUICE_ERR_SEAL_ADDON", msg);
  return NULL;
}

// The data and length of a typed array of the given type; 0 when v is not one.
static int get_array(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  napi_typedarray_type type;
  size_t offset;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &type, len, data, &ab, &offset) != napi_ok) return 0;
  return type == want;
}

static void node_hash(const uint8_t *left, const uint8_t *right, uint8_t *out) {
  uint8_t in[1 + 2 * HASH];
  in[0] = 1;
  memcpy(in + 1, left, HASH);
  memcpy(in + 1 + HASH, right, HASH);
  SHA256(in, sizeof in, out);
}

// seal(buf, starts, ends, hashAt, count, firstSeq, frontier, size) -> new frontier (Buffer)
//   leaf i = SHA-256(0x00 ‖ u64be(firstSeq + i) ‖ buf[starts[i], ends[i])) is written at buf[hashAt[i]];
//   frontier: the compact range of the tree of `size` leaves (largest subtree first, 32 bytes each).
static napi_value Seal(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 8) return fail(env, "seal: 8 arguments expected");
  uint8_t *buf, *frontier;
  size_t buf_len, frontier_len, n_starts, n_ends, n_at;
  uint32_t *starts, *ends, *at;
  if (!get_array(env, argv[0], napi_uint8_array, (void **)&buf, &buf_len)) return fail(env, "seal: buf must be a Buffer");
  if (!get_array(env, argv[1], napi_uint32_array, (void **)&starts, &n_starts) || !get_array(env, argv[2], napi_uint32_array, (void **)&ends, &n_ends) ||
      !get_array(env, argv[3], napi_uint32_array, (void **)&at, &n_at)) {
    return fail(env, "seal: starts, ends and hashAt must be Uint32Arrays");
  }
  uint32_t count;
  double first_seq, size_d;
  if (napi_get_value_uint32(env, argv[4], &count) != napi_ok) return fail(env, "seal: count must be a number");
  if (napi_get_value_double(env, argv[5], &first_seq) != napi_ok) return fail(env, "seal: firstSeq must be a number");
  if (!get_array(env, argv[6], napi_uint8_array, (void **)&frontier, &frontier_len)) return fail(env, "seal: frontier must be a Buffer");
  if (napi_get_value_double(env, argv[7], &size_d) != napi_ok || size_d < 0) return fail(env, "seal: size must be a number");
  if (count > n_starts || count > n_ends || count > n_at) return fail(env, "seal: count exceeds the offset arrays");
  uint64_t size = (uint64_t)size_d;
  if (frontier_len != (size_t)__builtin_popcountll(size) * HASH) return fail(env, "seal: frontier does not match size");

  uint8_t stack[MAX_FRONTIER][HASH];
  size_t depth = frontier_len / HASH;
  memcpy(stack, frontier, frontier_len);

  for (uint32_t i = 0; i < count; i++) {
    uint32_t s = starts[i], e = ends[i], h = at[i];
    if (s > e || e > buf_len || (size_t)h + HASH > buf_len) return fail(env, "seal: a record or hash offset is outside buf");
    uint64_t seq = (uint64_t)first_seq + i;
    uint8_t prefix[9];
    prefix[0] = 0;
    for (int b = 0; b < 8; b++) prefix[1 + b] = (uint8_t)(seq >> (56 - 8 * b));
    SHA256_CTX ctx;
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, prefix, sizeof prefix);
    SHA256_Update(&ctx, buf + s, e - s);
    uint8_t leaf[HASH];
    SHA256_Final(leaf, &ctx);
    memcpy(buf + h, leaf, HASH);
    // Each trailing 1-bit of the old size is a subtree of equal height to merge with.
    for (uint64_t t = size; t & 1; t >>= 1) {
      depth--;
      node_hash(stack[depth], leaf, leaf);
    }
    memcpy(stack[depth++], leaf, HASH);
    size++;
  }

  napi_value out;
  void *out_data;
  if (napi_create_buffer(env, depth * HASH, &out_data, &out) != napi_ok) return fail(env, "seal: out of memory");
  memcpy(out_data, stack, depth * HASH);
  return out;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "seal", NAPI_AUTO_LENGTH, Seal, NULL, &fn);
  napi_set_named_property(env, exports, "seal", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
