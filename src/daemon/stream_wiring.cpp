#include "stream_wiring.hpp"

#include <map>
#include <set>
#include <vector>

#include "meshd/api/event_history.hpp"
#include "meshd/api/views.hpp"

namespace meshd::daemon {
namespace {

// A nodes body without this node's last_seen, which is "now" on every
// call: what tells whether anything else changed.
nlohmann::json without_self_seen(nlohmann::json body) {
  for (auto& n : body["nodes"])
    if (n.value("self", false)) n.erase("last_seen");
  return body;
}

}  // namespace

struct StreamWiring::Impl : std::enable_shared_from_this<StreamWiring::Impl> {
  Impl(core::Scheduler& loop, PostToLoop post_to_loop, api::ApiContext& context,
       StreamWiringOptions wiring_options)
      : scheduler(loop),
        clock(loop.clock()),
        post(std::move(post_to_loop)),
        ctx(context),
        options(wiring_options),
        hub(std::make_shared<api::StreamHub>(loop.clock(), wiring_options.hub)),
        flush_timer(loop),
        tick_timer(loop) {}

  void start();
  void stop();
  void install_snapshots();
  void hook_changes();
  void attach_logs(const supervisor::Service& service);
  void mark_dirty();
  void flush();
  void tick();
  void publish_logs(const std::string& service, std::vector<supervisor::LogLine> lines,
                    std::uint64_t dropped);
  nlohmann::json nodes() const {
    return api::nodes_view(ctx.catalog, *ctx.registry, core::to_unix_ms(clock.wall_now()));
  }
  void publish_nodes(bool always);
  nlohmann::json view(const supervisor::Service& service) const {
    auto route = ctx.routes ? ctx.routes->find(service.name()) : nullptr;
    return api::service_view(*ctx.supervisor, *ctx.registry, service, route.get(), clock.now());
  }

  core::Scheduler& scheduler;
  const core::TimeSource& clock;
  PostToLoop post;
  api::ApiContext& ctx;
  StreamWiringOptions options;
  std::shared_ptr<api::StreamHub> hub;
  core::Timer flush_timer;
  core::Timer tick_timer;
  bool flush_scheduled = false;
  core::TimePoint last_flush{};
  std::map<std::string, nlohmann::json> services_sent;  // the last view each client got per service
  nlohmann::json health_sent;
  nlohmann::json nodes_sent;  // the last nodes body sent, without this node's last_seen
  supervisor::Supervisor::Subscription supervisor_subscription;
  int events_subscription = 0;
  std::function<nlohmann::json()> breakers;
  std::function<nlohmann::json()> metrics;
  nlohmann::json metrics_latest = nlohmann::json::object();
};

void StreamWiring::Impl::start() {
  install_snapshots();
  hook_changes();  // attaches the logs of every service there is
  flush();         // the baseline the first deltas are measured against
  tick();
}

void StreamWiring::Impl::install_snapshots() {
  hub->set_sequence([this] { return ctx.events->last_seq(); });
  hub->set_service_exists(
      [this](const std::string& name) { return ctx.supervisor->find(name) != nullptr; });
  hub->set_history([this](std::int64_t since, std::size_t limit) {
    return api::event_history(*ctx.events, ctx.database, since, limit);
  });
  hub->set_snapshot("services", [this](const std::string&) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& s : ctx.supervisor->services()) list.push_back(view(*s));
    return nlohmann::json{{"services", std::move(list)}};
  });
  hub->set_snapshot("health", [this](const std::string&) {
    return api::overall_health_view(*ctx.supervisor, *ctx.registry);
  });
  hub->set_snapshot("events", [this](const std::string&) {
    return nlohmann::json{{"last_seq", ctx.events->last_seq()}};
  });
  hub->set_snapshot("breakers", [this](const std::string&) {
    return breakers ? breakers() : nlohmann::json{{"breakers", nlohmann::json::array()}};
  });
  hub->set_snapshot("metrics", [this](const std::string&) { return metrics_latest; });
  hub->set_snapshot("nodes", [this](const std::string&) {
    auto body = nodes();
    nodes_sent = without_self_seen(body);  // what later changes are measured against
    return body;
  });
  hub->set_snapshot("logs:", [this](const std::string& topic) {
    std::string name = topic.substr(5);
    nlohmann::json lines = nlohmann::json::array();
    if (const auto* s = ctx.supervisor->find(name))
      for (const auto& line : s->logs()->tail(100)) lines.push_back(log_line_view(line));
    return nlohmann::json{{"service", name}, {"lines", std::move(lines)}};
  });
  hub->on_drop = [weak = weak_from_this()](const std::string& remote, const std::string& reason) {
    auto self = weak.lock();
    if (!self) return;
    // An event for the operator; published from a fresh turn of the loop,
    // not from inside the hub's fan-out.
    self->scheduler.post([weak, remote, reason] {
      if (auto s = weak.lock())
        s->ctx.events->publish("websocket.dropped", "", "",
                               "WebSocket client " + remote + " dropped with 1008: " + reason,
                               {{"remote", remote}, {"reason", reason}});
    });
  };
}

void StreamWiring::Impl::hook_changes() {
  std::weak_ptr<Impl> weak = weak_from_this();
  supervisor::Supervisor::Listener listener;
  listener.added = [weak](const supervisor::Service& s) {
    if (auto self = weak.lock()) self->attach_logs(s);
  };
  listener.changed = [weak](const supervisor::Service&) {
    if (auto self = weak.lock()) self->mark_dirty();
  };
  supervisor_subscription = ctx.supervisor->subscribe(std::move(listener));
  ctx.registry->add_listener([weak](const std::string&) {
    if (auto self = weak.lock()) self->mark_dirty();
  });
  events_subscription = ctx.events->subscribe([weak](const core::Event& e) {
    auto self = weak.lock();
    if (!self) return;
    if (self->hub->subscribers("events"))
      self->hub->publish("events", std::to_string(e.seq), e.to_json(), e.seq);
    self->mark_dirty();  // most events are state changes
  });
}

void StreamWiring::Impl::stop() {
  flush_timer.cancel();
  tick_timer.cancel();
  supervisor_subscription.reset();
  ctx.events->unsubscribe(events_subscription);
  // WebSocket sessions share the hub and may outlive us: leave them
  // nothing that points back here.
  hub->set_sequence(nullptr);
  hub->set_service_exists(nullptr);
  hub->set_history(nullptr);
  for (const char* topic :
       {"services", "health", "events", "breakers", "metrics", "nodes", "logs:"})
    hub->set_snapshot(topic, nullptr);
  hub->on_drop = nullptr;
}

void StreamWiring::Impl::attach_logs(const supervisor::Service& service) {
  auto forwarder = std::make_shared<LogForwarder>(
      post, clock, service.name(), options.log_lines_per_second,
      [weak = weak_from_this()](const std::string& name, std::vector<supervisor::LogLine> lines,
                                std::uint64_t dropped) {
        if (auto self = weak.lock()) self->publish_logs(name, std::move(lines), dropped);
      });
  service.logs()->on_line = [forwarder](const supervisor::LogLine& line) { forwarder->add(line); };
}

void StreamWiring::Impl::publish_logs(const std::string& service,
                                      std::vector<supervisor::LogLine> lines,
                                      std::uint64_t dropped) {
  std::string topic = "logs:" + service;
  if (!hub->subscribers(topic)) return;
  auto seq = ctx.events->last_seq();
  for (const auto& line : lines)
    hub->publish(topic, line.instance + ":" + std::to_string(line.seq), log_line_view(line), seq);
  if (dropped) hub->publish(topic, "dropped", {{"dropped", dropped}}, seq);
}

void StreamWiring::Impl::mark_dirty() {
  if (flush_scheduled) return;
  flush_scheduled = true;
  auto wait = last_flush + options.min_flush_interval - clock.now();
  auto weak = weak_from_this();
  if (wait <= core::Duration::zero()) {
    // Not inline: the registry and the supervisor call us halfway through
    // an update.
    scheduler.post([weak] {
      if (auto self = weak.lock()) self->flush();
    });
    return;
  }
  flush_timer.arm(std::chrono::ceil<core::Duration>(wait), [weak] {
    if (auto self = weak.lock()) self->flush();
  });
}

// The whole body, to every subscriber: when `always` (the catalog said its
// nodes or its staleness changed), or when it differs from the last one
// sent in more than the time this node was last seen (an instance count
// moved with the registry).
void StreamWiring::Impl::publish_nodes(bool always) {
  if (!hub->subscribers("nodes")) return;
  auto body = nodes();
  auto key = without_self_seen(body);
  if (!always && key == nodes_sent) return;
  nodes_sent = std::move(key);
  hub->publish("nodes", "nodes", body, ctx.events->last_seq());
}

void StreamWiring::Impl::flush() {
  flush_scheduled = false;
  last_flush = clock.now();
  publish_nodes(false);
  // Nobody listens: building every view would only stall the loop (at
  // thousands of instances, tens of milliseconds). A later subscriber gets
  // a fresh snapshot, and the comparison baseline below stays valid.
  if (!hub->subscribers("services") && !hub->subscribers("health")) return;
  auto seq = ctx.events->last_seq();
  // Recompute every view and send those that changed: a change to one
  // service can change another (degraded_by, waiting_on) without a hook
  // firing for it.
  std::set<std::string> present;
  for (const auto& s : ctx.supervisor->services()) {
    present.insert(s->name());
    auto now_view = view(*s);
    auto& sent = services_sent[s->name()];
    if (sent == now_view) continue;
    sent = now_view;
    hub->publish("services", s->name(), now_view, seq);
  }
  for (auto it = services_sent.begin(); it != services_sent.end();) {
    if (present.count(it->first)) {
      ++it;
      continue;
    }
    hub->publish("services", it->first, nullptr, seq);  // removed (a reload)
    it = services_sent.erase(it);
  }
  auto health = api::overall_health_view(*ctx.supervisor, *ctx.registry);
  if (health != health_sent) {
    health_sent = health;
    hub->publish("health", "overall", health, seq);
  }
}

void StreamWiring::Impl::tick() {
  if (metrics) {
    metrics_latest = metrics();
    if (hub->subscribers("metrics"))
      hub->publish("metrics", "summary", metrics_latest, ctx.events->last_seq());
  }
  mark_dirty();
  tick_timer.arm(options.tick, [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->tick();
  });
}

StreamWiring::StreamWiring(core::Scheduler& scheduler, PostToLoop post, api::ApiContext& context,
                           StreamWiringOptions options)
    : impl_(std::make_shared<Impl>(scheduler, std::move(post), context, options)) {
  impl_->start();
}

StreamWiring::~StreamWiring() {
  impl_->stop();
}

api::HttpServer::Upgrade StreamWiring::upgrade() const {
  return api::websocket_upgrade(impl_->hub, impl_->ctx, impl_->options.websocket);
}

api::StreamHub& StreamWiring::hub() {
  return *impl_->hub;
}

void StreamWiring::set_breakers(std::function<nlohmann::json()> snapshot) {
  impl_->breakers = std::move(snapshot);
}

void StreamWiring::set_metrics_summary(std::function<nlohmann::json()> summary) {
  impl_->metrics = std::move(summary);
}

void StreamWiring::nodes_changed() {
  impl_->publish_nodes(true);
}

}  // namespace meshd::daemon
