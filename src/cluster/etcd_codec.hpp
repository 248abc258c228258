#pragma once
// Private to the cluster module: not part of meshd's public headers (include/meshd/).

// The JSON gateway's encoding of etcd's protobuf messages: bytes fields in
// base64, int64 fields as JSON strings, zero values left out. Readers
// throw CodecError on a malformed answer; the callers turn it into
// invalid_argument at one place (decode_answer in etcd_answers.cpp).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

#include "meshd/cluster/etcd_client.hpp"

namespace meshd::cluster {

/// An answer that does not have the shape etcd gives.
class CodecError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string base64_encode(std::string_view bytes);
/// Throws CodecError on anything that is not padded standard base64.
std::string base64_decode(std::string_view text);

/// The key just past every key that starts with `prefix` (etcd's
/// GetPrefixRangeEnd): "\0" (every key) for an empty or all-0xff prefix.
std::string prefix_range_end(const std::string& prefix);

/// An int64 field: absent (zero), a JSON string of digits, or a number.
std::int64_t read_int64(const nlohmann::json& object, const char* field);
/// A bytes field: absent (empty) or base64.
std::string read_bytes(const nlohmann::json& object, const char* field);
/// A bool field: absent (false) or a JSON boolean.
bool read_bool(const nlohmann::json& object, const char* field);
/// A sub-message: absent (an empty object) or a JSON object.
const nlohmann::json& read_object(const nlohmann::json& object, const char* field);

/// mvccpb.KeyValue.
KeyValue read_key_value(const nlohmann::json& object);
/// header.revision of a response.
std::int64_t read_header_revision(const nlohmann::json& response);

}  // namespace meshd::cluster
