// The one history of events (GET /api/v1/events, the stream's "since"):
// older events from the database, newer from memory, each once, in one
// JSON shape.

#include "meshd/api/event_history.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "fakes/fake_clock.hpp"

namespace meshd::api {
namespace {

namespace fs = std::filesystem;

std::vector<std::int64_t> seqs(const std::vector<nlohmann::json>& list) {
  std::vector<std::int64_t> out;
  for (const auto& e : list) out.push_back(e.at("seq").get<std::int64_t>());
  return out;
}

struct Fixture {
  fs::path dir =
      fs::temp_directory_path() / ("meshd-event-history-" + std::to_string(::getpid()) + "-" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  testing::FakeClock clock;
  std::unique_ptr<store::Database> db;
  core::EventBus bus{clock, 0, 3};  // memory keeps the newest 3
  int stored = 0;

  Fixture() {
    fs::remove_all(dir);
    db = store::Database::open((dir / "meshd.db").string());
    stored = bus.subscribe([this](const core::Event& e) {
      db->append_event(store::EventRecord{e.seq, core::to_unix_ms(e.time), e.type, e.service,
                                          e.instance, e.message, e.data.dump()});
    });
  }
  ~Fixture() {
    db.reset();
    fs::remove_all(dir);
  }

  void publish(int n) {
    for (int i = 0; i < n; ++i) {
      clock.advance(std::chrono::milliseconds(1500));
      bus.publish("test.event", "svc", "svc-0", "event", {{"n", bus.last_seq() + 1}});
    }
  }
};

TEST(EventHistory, OlderEventsComeFromTheDatabaseAndNewerFromMemoryEachOnce) {
  Fixture f;
  f.publish(5);
  f.db->flush();
  auto all = event_history(f.bus, f.db.get(), 0, 100);
  EXPECT_EQ(seqs(all), (std::vector<std::int64_t>{1, 2, 3, 4, 5}));
  // A stored event reads back exactly as the one still in memory would.
  EXPECT_EQ(all[0].at("data").at("n"), 1);
  EXPECT_EQ(all[0].at("type"), "test.event");
  EXPECT_EQ(all[4], f.bus.recent(4, 1).at(0).to_json());
  EXPECT_EQ(seqs(event_history(f.bus, f.db.get(), 3, 100)), (std::vector<std::int64_t>{4, 5}));
  EXPECT_EQ(seqs(event_history(f.bus, f.db.get(), 0, 2)), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(seqs(event_history(f.bus, f.db.get(), 1, 3)), (std::vector<std::int64_t>{2, 3, 4}));
}

// The writer may not have stored the newest events yet: memory has them.
TEST(EventHistory, EventsNotYetStoredComeFromMemory) {
  Fixture f;
  f.publish(4);
  f.db->flush();
  f.bus.unsubscribe(f.stored);
  f.publish(2);  // 5 and 6: in memory only
  EXPECT_EQ(seqs(event_history(f.bus, f.db.get(), 0, 100)),
            (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6}));
}

TEST(EventHistory, WithoutADatabaseOnlyMemory) {
  Fixture f;
  f.publish(5);
  EXPECT_EQ(seqs(event_history(f.bus, nullptr, 0, 100)), (std::vector<std::int64_t>{3, 4, 5}));
}

TEST(EventHistory, AStoredRecordHasTheEventsShapeAndBadDataReadsAsEmpty) {
  auto event = event_from_record(store::EventRecord{7, 1234, "t", "s", "s-0", "m", "not json"});
  EXPECT_EQ(event.to_json(), nlohmann::json({{"seq", 7},
                                             {"time_ms", 1234},
                                             {"type", "t"},
                                             {"service", "s"},
                                             {"instance", "s-0"},
                                             {"message", "m"},
                                             {"data", nlohmann::json::object()}}));
  EXPECT_EQ(event_from_record(store::EventRecord{8, 1, "t", "", "", "m", "{\"a\":[1]}"}).data,
            nlohmann::json({{"a", {1}}}));
}

}  // namespace
}  // namespace meshd::api
