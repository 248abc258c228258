#pragma once

#include <cstdint>
#include <string_view>

namespace meshd::balancer {

/// A stable 64-bit hash of a routing key (header value, cookie, client IP):
/// FNV-1a with a murmur3 finaliser for avalanche. Unlike std::hash it gives
/// the same value in every build and on every machine, so a key keeps its
/// instance across meshd restarts and upgrades.
std::uint64_t hash_key(std::string_view key);

}  // namespace meshd::balancer
