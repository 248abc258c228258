// The JSON gateway's encodings, without etcd.

#include <gtest/gtest.h>

#include "cluster/etcd_codec.hpp"

namespace meshd::cluster {
namespace {

TEST(EtcdCodec, Base64RoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t length = 0; length < 8; ++length) {
    const auto part = all.substr(250 - length, length);
    EXPECT_EQ(base64_decode(base64_encode(part)), part) << length;
  }
  EXPECT_EQ(base64_decode(base64_encode(all)), all);
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("f"), "Zg==");
}

TEST(EtcdCodec, Base64RefusesWhatIsNotBase64) {
  for (const char* bad : {"Zm9", "Zm9v!", "Z===", "=m9v", "Zm=v", "Zg==Zg=="}) {
    EXPECT_THROW(base64_decode(bad), CodecError) << bad;
  }
}

TEST(EtcdCodec, PrefixRangeEndIsJustPastThePrefix) {
  EXPECT_EQ(prefix_range_end("/meshd/"), "/meshd0");
  EXPECT_EQ(prefix_range_end("a\xff"), "b");
  EXPECT_EQ(prefix_range_end("\xff\xff"), std::string(1, '\0'));
  EXPECT_EQ(prefix_range_end(""), std::string(1, '\0'));
}

TEST(EtcdCodec, Int64FieldsComeAsStringsNumbersOrNotAtAll) {
  const auto object = nlohmann::json::parse(
      R"({"s": "9223372036854775807", "n": 12, "neg": "-3", "bad": "12x", "empty": "",
          "t": true})");
  EXPECT_EQ(read_int64(object, "s"), 9223372036854775807LL);
  EXPECT_EQ(read_int64(object, "n"), 12);
  EXPECT_EQ(read_int64(object, "neg"), -3);
  EXPECT_EQ(read_int64(object, "absent"), 0);
  EXPECT_THROW(read_int64(object, "bad"), CodecError);
  EXPECT_THROW(read_int64(object, "empty"), CodecError);
  EXPECT_THROW(read_int64(object, "t"), CodecError);
}

TEST(EtcdCodec, AKeyValueLeavesOutItsZeroFields) {
  const auto kv = read_key_value(
      nlohmann::json::parse(R"({"key": "Zm9v", "mod_revision": "5", "lease": "77"})"));
  EXPECT_EQ(kv.key, "foo");
  EXPECT_EQ(kv.value, "");
  EXPECT_EQ(kv.mod_revision, 5);
  EXPECT_EQ(kv.create_revision, 0);
  EXPECT_EQ(kv.lease, 77);
  EXPECT_THROW(read_key_value(nlohmann::json::array()), CodecError);
}

}  // namespace
}  // namespace meshd::cluster
