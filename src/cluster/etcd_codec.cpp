#include "etcd_codec.hpp"

#include <array>
#include <charconv>

namespace meshd::cluster {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

const nlohmann::json& empty_object() {
  static const nlohmann::json empty = nlohmann::json::object();
  return empty;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]) << 16 |
                                              static_cast<unsigned char>(bytes[i + 1]) << 8 |
                                              static_cast<unsigned char>(bytes[i + 2]));
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += kAlphabet[n >> 6 & 63];
    out += kAlphabet[n & 63];
  }
  const std::size_t left = bytes.size() - i;
  if (left > 0) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]) << 16);
    if (left == 2) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += left == 2 ? kAlphabet[n >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

std::string base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) throw CodecError("base64 of a length that is not a multiple of 4");
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    std::array<int, 4> v{};
    int padding = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      if (c == '=' && last && j >= 2) {
        ++padding;
        v[j] = 0;
        continue;
      }
      v[j] = padding > 0 ? -1 : sextet(c);
      if (v[j] < 0) throw CodecError("not base64");
    }
    const auto n = static_cast<std::uint32_t>(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
    out += static_cast<char>(n >> 16 & 0xff);
    if (padding < 2) out += static_cast<char>(n >> 8 & 0xff);
    if (padding < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

std::string prefix_range_end(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

std::int64_t read_int64(const nlohmann::json& object, const char* field) {
  const auto it = object.find(field);
  if (it == object.end() || it->is_null()) return 0;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (!it->is_string()) throw CodecError(std::string("field '") + field + "' is not an integer");
  const auto& text = it->get_ref<const std::string&>();
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
    throw CodecError(std::string("field '") + field + "' is not an integer: '" + text + "'");
  }
  return value;
}

std::string read_bytes(const nlohmann::json& object, const char* field) {
  const auto it = object.find(field);
  if (it == object.end() || it->is_null()) return {};
  if (!it->is_string()) throw CodecError(std::string("field '") + field + "' is not base64 text");
  return base64_decode(it->get_ref<const std::string&>());
}

bool read_bool(const nlohmann::json& object, const char* field) {
  const auto it = object.find(field);
  if (it == object.end() || it->is_null()) return false;
  if (!it->is_boolean()) throw CodecError(std::string("field '") + field + "' is not a boolean");
  return it->get<bool>();
}

const nlohmann::json& read_object(const nlohmann::json& object, const char* field) {
  if (!object.is_object()) throw CodecError("expected a JSON object");
  const auto it = object.find(field);
  if (it == object.end() || it->is_null()) return empty_object();
  if (!it->is_object()) throw CodecError(std::string("field '") + field + "' is not an object");
  return *it;
}

KeyValue read_key_value(const nlohmann::json& object) {
  if (!object.is_object()) throw CodecError("a key-value that is not an object");
  KeyValue kv;
  kv.key = read_bytes(object, "key");
  kv.value = read_bytes(object, "value");
  kv.create_revision = read_int64(object, "create_revision");
  kv.mod_revision = read_int64(object, "mod_revision");
  kv.version = read_int64(object, "version");
  kv.lease = read_int64(object, "lease");
  return kv;
}

std::int64_t read_header_revision(const nlohmann::json& response) {
  return read_int64(read_object(response, "header"), "revision");
}

}  // namespace meshd::cluster
