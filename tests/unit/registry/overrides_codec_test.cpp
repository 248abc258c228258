#include "meshd/registry/overrides_codec.hpp"

#include <gtest/gtest.h>

namespace meshd::registry {
namespace {

TEST(OverridesCodec, WhatIsSavedIsWhatARestartRestores) {
  auto back = decode_overrides(encode_overrides(Overrides{true, false, "deploy by ana"}));
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->drain);
  EXPECT_FALSE(back->maintenance);
  EXPECT_EQ(back->note, "deploy by ana");
}

TEST(OverridesCodec, MissingFieldsKeepTheirDefaults) {
  auto o = decode_overrides(R"({"maintenance": true})");
  ASSERT_TRUE(o);
  EXPECT_FALSE(o->drain);
  EXPECT_TRUE(o->maintenance);
  EXPECT_EQ(o->note, "");
}

TEST(OverridesCodec, ADamagedRowIsSkipped) {
  EXPECT_FALSE(decode_overrides("not json"));
  EXPECT_FALSE(decode_overrides("[true]"));
  EXPECT_FALSE(decode_overrides(R"({"drain": "yes"})"));
}

}  // namespace
}  // namespace meshd::registry
