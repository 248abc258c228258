// What callers of the store see: writes come back from reads, in order, and
// survive a restart.

#include "meshd/store/database.hpp"

#include <gtest/gtest.h>

#include "temp_dir.hpp"

namespace meshd::store {
namespace {

EventRecord make_event(std::int64_t seq, std::string service = "api") {
  return EventRecord{seq,
                     1'700'000'000'000 + seq,
                     "service.state",
                     std::move(service),
                     "api-" + std::to_string(seq % 3),
                     "event " + std::to_string(seq),
                     R"({"n":)" + std::to_string(seq) + "}"};
}

void expect_same(const EventRecord& a, const EventRecord& b) {
  EXPECT_EQ(a.seq, b.seq);
  EXPECT_EQ(a.time_ms, b.time_ms);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.service, b.service);
  EXPECT_EQ(a.instance, b.instance);
  EXPECT_EQ(a.message, b.message);
  EXPECT_EQ(a.data_json, b.data_json);
}

class DatabaseTest : public ::testing::Test {
 protected:
  test_support::TempDir dir_;
  std::string path_ = dir_.file("meshd.db");
};

TEST_F(DatabaseTest, EmptyDatabaseReadsAsEmpty) {
  auto db = Database::open(path_);
  EXPECT_EQ(db->last_event_seq(), 0);
  EXPECT_TRUE(db->events_since(0, 100).empty());
  EXPECT_TRUE(db->load("registration").empty());
  EXPECT_TRUE(db->config_history(10).empty());
  EXPECT_EQ(db->dropped_writes(), 0u);
}

TEST_F(DatabaseTest, EventsRoundTripWithEveryField) {
  auto db = Database::open(path_);
  const EventRecord first = make_event(1);
  EventRecord unicode = make_event(2, "");
  unicode.message = "état: \"quoted\"\nsecond line";
  unicode.instance = "";
  db->append_event(first);
  db->append_event(unicode);
  db->flush();

  const auto events = db->events_since(0, 10);
  ASSERT_EQ(events.size(), 2u);
  expect_same(events[0], first);
  expect_same(events[1], unicode);
  EXPECT_EQ(db->last_event_seq(), 2);
}

TEST_F(DatabaseTest, EmptyDataJsonIsStoredAsEmptyObject) {
  auto db = Database::open(path_);
  EventRecord event = make_event(1);
  event.data_json.clear();
  db->append_event(event);
  db->flush();
  EXPECT_EQ(db->events_since(0, 1).at(0).data_json, "{}");
}

TEST_F(DatabaseTest, EventsSinceIsOldestFirstAfterSinceAndLimited) {
  auto db = Database::open(path_);
  // Out of order on purpose: the order comes from seq, not from arrival.
  for (std::int64_t seq : {5, 1, 9, 3, 7, 2, 8, 4, 10, 6}) db->append_event(make_event(seq));
  db->flush();

  const auto page = db->events_since(3, 4);
  ASSERT_EQ(page.size(), 4u);
  EXPECT_EQ(page[0].seq, 4);
  EXPECT_EQ(page[1].seq, 5);
  EXPECT_EQ(page[2].seq, 6);
  EXPECT_EQ(page[3].seq, 7);
  EXPECT_EQ(db->events_since(8, 100).size(), 2u);
  EXPECT_TRUE(db->events_since(10, 100).empty());
  EXPECT_TRUE(db->events_since(0, 0).empty());
  EXPECT_EQ(db->last_event_seq(), 10);
}

TEST_F(DatabaseTest, PutReplacesAndLoadIsOrderedByKeyPerKind) {
  auto db = Database::open(path_);
  db->put("registration", "b", R"({"v":1})");
  db->put("registration", "a", R"({"v":2})");
  db->put("override", "a", R"({"drain":true})");
  db->put("registration", "b", R"({"v":3})");
  db->flush();

  const auto registrations = db->load("registration");
  ASSERT_EQ(registrations.size(), 2u);
  EXPECT_EQ(registrations[0], std::make_pair(std::string("a"), std::string(R"({"v":2})")));
  EXPECT_EQ(registrations[1], std::make_pair(std::string("b"), std::string(R"({"v":3})")));
  const auto overrides = db->load("override");
  ASSERT_EQ(overrides.size(), 1u);
  EXPECT_EQ(overrides[0].second, R"({"drain":true})");
}

TEST_F(DatabaseTest, EraseRemovesOnlyThatKeyOfThatKind) {
  auto db = Database::open(path_);
  db->put("registration", "a", "{}");
  db->put("registration", "b", "{}");
  db->put("override", "a", "{}");
  db->erase("registration", "a");
  db->erase("registration", "missing");  // not an error
  db->flush();

  const auto registrations = db->load("registration");
  ASSERT_EQ(registrations.size(), 1u);
  EXPECT_EQ(registrations[0].first, "b");
  EXPECT_EQ(db->load("override").size(), 1u);
  EXPECT_EQ(db->dropped_writes(), 0u);
}

TEST_F(DatabaseTest, ConfigHistoryIsNewestFirstAndLimited) {
  auto db = Database::open(path_);
  for (std::int64_t v = 1; v <= 4; ++v) {
    db->append_config(ConfigVersion{v, 1000 * v, "services: {}  # v" + std::to_string(v),
                                    v == 1 ? "startup" : "reload"});
  }
  db->flush();

  const auto history = db->config_history(3);
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0].version, 4);
  EXPECT_EQ(history[0].time_ms, 4000);
  EXPECT_EQ(history[0].source, "services: {}  # v4");
  EXPECT_EQ(history[0].note, "reload");
  EXPECT_EQ(history[2].version, 2);
  EXPECT_EQ(db->config_history(100).back().note, "startup");
}

TEST_F(DatabaseTest, EverythingSurvivesCloseAndReopen) {
  {
    auto db = Database::open(path_);
    for (std::int64_t seq = 1; seq <= 50; ++seq) db->append_event(make_event(seq));
    db->put("registration", "pg", R"({"address":"127.0.0.1:5432"})");
    db->append_config(ConfigVersion{1, 1, "yaml", "startup"});
    // No flush: closing must drain the queue.
  }
  auto db = Database::open(path_);
  EXPECT_EQ(db->last_event_seq(), 50);
  EXPECT_EQ(db->events_since(0, 1000).size(), 50u);
  expect_same(db->events_since(49, 1).at(0), make_event(50));
  ASSERT_EQ(db->load("registration").size(), 1u);
  EXPECT_EQ(db->load("registration")[0].second, R"({"address":"127.0.0.1:5432"})");
  ASSERT_EQ(db->config_history(1).size(), 1u);

  // And the reopened database keeps accepting writes after the old ones.
  db->append_event(make_event(51));
  db->flush();
  EXPECT_EQ(db->last_event_seq(), 51);
}

}  // namespace
}  // namespace meshd::store
