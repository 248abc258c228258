#include "meshd/balancer/hash.hpp"

namespace meshd::balancer {

std::uint64_t hash_key(std::string_view key) {
  std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a 64 offset basis
  for (unsigned char c : key) {
    h ^= c;
    h *= 0x100000001b3ull;  // FNV prime
  }
  // FNV-1a alone leaves similar keys ("svc-0#1", "svc-0#2") close together
  // in the high bits; murmur3's fmix64 spreads them over the whole ring.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

}  // namespace meshd::balancer
