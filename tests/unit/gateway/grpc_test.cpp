#include "gateway/grpc.hpp"

#include <gtest/gtest.h>

namespace meshd::gateway::grpc {
namespace {

using namespace std::chrono;

TEST(Grpc, RecognisesItsContentTypes) {
  EXPECT_TRUE(is_grpc("application/grpc"));
  EXPECT_TRUE(is_grpc("application/grpc+proto"));
  EXPECT_TRUE(is_grpc("Application/GRPC;charset=x"));
  EXPECT_FALSE(is_grpc("application/grpc-web"));
  EXPECT_FALSE(is_grpc("application/json"));
  EXPECT_FALSE(is_grpc(""));
}

TEST(Grpc, ParsesTimeoutsInEveryUnit) {
  EXPECT_EQ(parse_timeout("100m"), nanoseconds(milliseconds(100)));
  EXPECT_EQ(parse_timeout("5S"), nanoseconds(seconds(5)));
  EXPECT_EQ(parse_timeout("1H"), nanoseconds(hours(1)));
  EXPECT_EQ(parse_timeout("2M"), nanoseconds(minutes(2)));
  EXPECT_EQ(parse_timeout("7u"), nanoseconds(microseconds(7)));
  EXPECT_EQ(parse_timeout("99999999n"), nanoseconds(99999999));
}

TEST(Grpc, RejectsMalformedTimeouts) {
  EXPECT_FALSE(parse_timeout(""));
  EXPECT_FALSE(parse_timeout("m"));
  EXPECT_FALSE(parse_timeout("100"));
  EXPECT_FALSE(parse_timeout("100x"));
  EXPECT_FALSE(parse_timeout("-1S"));
  EXPECT_FALSE(parse_timeout("123456789S"));  // nine digits: at most eight
  EXPECT_FALSE(parse_timeout("1 S"));
}

TEST(Grpc, MapsGatewayErrorsToStatuses) {
  using core::ErrorCode;
  EXPECT_EQ(status_for(ErrorCode::unavailable), Status::unavailable);
  EXPECT_EQ(status_for(ErrorCode::upstream_failure), Status::unavailable);
  EXPECT_EQ(status_for(ErrorCode::upstream_timeout), Status::deadline_exceeded);
  EXPECT_EQ(status_for(ErrorCode::not_found), Status::unimplemented);
  EXPECT_EQ(status_for(ErrorCode::invalid_argument), Status::invalid_argument);
  EXPECT_EQ(status_for(ErrorCode::payload_too_large), Status::resource_exhausted);
  EXPECT_EQ(status_for(ErrorCode::rate_limited), Status::resource_exhausted);
  EXPECT_EQ(status_for(ErrorCode::internal), Status::internal);
}

TEST(Grpc, PercentEncodesMessages) {
  EXPECT_EQ(percent_encode("plain text {\"a\":1}"), "plain text {\"a\":1}");
  EXPECT_EQ(percent_encode("50%"), "50%25");
  EXPECT_EQ(percent_encode("a\nb"), "a%0Ab");
  EXPECT_EQ(percent_encode("\xC3\xA9"), "%C3%A9");
}

TEST(Grpc, MatchesMethodsExactlyOrByService) {
  std::vector<std::string> methods{"/pkg.Echo/Get", "/pkg.Store/*"};
  EXPECT_TRUE(method_matches("/pkg.Echo/Get", methods));
  EXPECT_FALSE(method_matches("/pkg.Echo/Put", methods));
  EXPECT_TRUE(method_matches("/pkg.Store/Read", methods));
  EXPECT_FALSE(method_matches("/pkg.Store/", methods));
  EXPECT_FALSE(method_matches("/pkg.Store/a/b", methods));
  EXPECT_FALSE(method_matches("/pkg.StoreX/Read", methods));
  EXPECT_FALSE(method_matches("/pkg.Echo/Get", {}));
}

}  // namespace
}  // namespace meshd::gateway::grpc
