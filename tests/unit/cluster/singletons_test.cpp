#include "meshd/cluster/singletons.hpp"

#include <gtest/gtest.h>

#include "fakes/fake_etcd.hpp"

namespace meshd::cluster {
namespace {

using namespace std::chrono_literals;

// A node for the election: its catalog (the lease) and its Singletons,
// recording whether it runs the service.
struct Candidate {
  Candidate(testing::FakeEtcd& etcd, core::EventBus& events, std::string name,
            std::map<std::string, int>& running)
      : running_(running), name_(name) {
    EtcdCatalogOptions o;
    o.node = name;
    o.lease_ttl = 2s;
    o.incarnation = name;
    catalog = EtcdCatalog::create(etcd.scheduler(), etcd.scheduler().clock(),
                                  std::make_unique<testing::FakeEtcdClient>(etcd), o, nullptr);
    singletons =
        std::make_unique<Singletons>(catalog->client(), etcd.scheduler(), events, "/meshd/", name,
                                     [this](const std::string&, bool run) {
                                       runs = run;
                                       running_[name_] = run ? 1 : 0;
                                     });
    EtcdCatalog::LeaseHooks hooks;
    hooks.granted = [this](std::int64_t lease) { singletons->granted(lease); };
    hooks.fenced = [this] { singletons->fenced(); };
    hooks.renewed = [this] { singletons->renewed(); };
    catalog->set_lease_hooks(hooks);
    catalog->start({});
    singletons->set_services({"db"});
  }
  ~Candidate() {
    singletons.reset();
    catalog.reset();
  }
  std::map<std::string, int>& running_;
  std::string name_;
  bool runs = false;
  std::unique_ptr<EtcdCatalog> catalog;
  std::unique_ptr<Singletons> singletons;
};

struct Election {
  testing::FakeClock clock;
  testing::FakeScheduler scheduler{clock};
  testing::FakeEtcd etcd{scheduler};
  core::EventBus events{clock};
  std::map<std::string, int> running;
  int copies() const {
    int n = 0;
    for (const auto& [node, r] : running) n += r;
    return n;
  }
  /// Advances in small steps, checking that no two nodes ever run it.
  void run(core::Duration d) {
    for (auto t = core::Duration(0); t < d; t += 50ms) {
      scheduler.advance(50ms);
      ASSERT_LE(copies(), 1) << "two copies of a singleton";
    }
  }
};

TEST(Singletons, ExactlyOneNodeRunsItAndAnotherTakesOverWhenItDies) {
  Election e;
  auto a = std::make_unique<Candidate>(e.etcd, e.events, "a", e.running);
  e.run(200ms);
  Candidate b(e.etcd, e.events, "b", e.running);
  e.run(1s);
  EXPECT_TRUE(a->runs);
  EXPECT_FALSE(b.runs);
  EXPECT_TRUE(a->singletons->leads("db"));
  a.reset();  // killed: its process dies with it, its lease lives on for ttl
  e.running["a"] = 0;
  e.run(1000ms);
  EXPECT_FALSE(b.runs);  // a's lease (last renewed at 666 ms) has not expired yet
  e.run(1000ms);         // lease_ttl (2 s) after that, plus the election's poll
  EXPECT_TRUE(b.runs);
  int elected = 0;
  for (const auto& ev : e.events.recent(0, 100))
    if (ev.type == "singleton.elected") ++elected;
  EXPECT_EQ(elected, 2);
}

// Cut off from etcd, the leader stops its copy after lease_ttl / 2, before
// its lease (and so its leadership) can expire; renewed, it runs it again.
TEST(Singletons, ALeaderThatCannotRenewStopsItsCopyBeforeTheLeaseExpires) {
  Election e;
  Candidate a(e.etcd, e.events, "a", e.running);
  e.run(700ms);
  ASSERT_TRUE(a.runs);
  e.etcd.up = false;
  e.run(1100ms);
  EXPECT_FALSE(a.runs);
  e.etcd.restore();
  e.run(1500ms);
  EXPECT_TRUE(a.runs);
}

TEST(Singletons, AServiceNoLongerASingletonHereStopsAndResigns) {
  Election e;
  Candidate a(e.etcd, e.events, "a", e.running);
  Candidate b(e.etcd, e.events, "b", e.running);
  e.run(1s);
  ASSERT_TRUE(a.runs);
  a.singletons->set_services({});
  e.run(1s);
  EXPECT_FALSE(a.runs);
  EXPECT_TRUE(b.runs);  // a resigned: b did not wait for a's lease
}

}  // namespace
}  // namespace meshd::cluster
