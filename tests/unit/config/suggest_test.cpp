// The did-you-mean hints used by every "unknown ..." error.

#include "config/suggest.hpp"

#include <gtest/gtest.h>

namespace meshd::config {
namespace {

using detail::did_you_mean;
using detail::levenshtein;

TEST(Levenshtein, Distances) {
  EXPECT_EQ(levenshtein("", ""), 0u);
  EXPECT_EQ(levenshtein("abc", ""), 3u);
  EXPECT_EQ(levenshtein("helth", "health"), 1u);
  EXPECT_EQ(levenshtein("restrat", "restart"), 2u);
  EXPECT_EQ(levenshtein("kitten", "sitting"), 3u);
}

TEST(DidYouMean, ClosestWithinTwoEdits) {
  std::vector<std::string> keys{"timeout", "interval", "ttl"};
  EXPECT_EQ(did_you_mean("intervall", keys), " (did you mean 'interval'?)");
  EXPECT_EQ(did_you_mean("timout", keys), " (did you mean 'timeout'?)");
  EXPECT_EQ(did_you_mean("banana", keys), "");
}

TEST(DidYouMean, PrefixEitherWay) {
  std::vector<std::string> keys{"max_size", "keep"};
  EXPECT_EQ(did_you_mean("max", keys), " (did you mean 'max_size'?)");
  EXPECT_EQ(did_you_mean("keeping", keys), " (did you mean 'keep'?)");
  EXPECT_EQ(did_you_mean("keep_files", keys), " (did you mean 'keep'?)");
}

TEST(DidYouMean, NoNoiseForVeryShortWords) {
  std::vector<std::string> keys{"on", "budget"};
  EXPECT_EQ(did_you_mean("ab", keys), "");
  EXPECT_EQ(did_you_mean("o", keys), "");
}

}  // namespace
}  // namespace meshd::config
