#include "meshd/daemon/stream_wiring.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "meshd/api/views.hpp"

namespace meshd::daemon {

namespace asio = boost::asio;

namespace {

nlohmann::json line_view(const supervisor::LogLine& line) {
  return {{"seq", line.seq},
          {"time_ms", line.time_ms},
          {"instance", line.instance},
          {"stream", supervisor::to_string(line.stream)},
          {"line", line.text}};
}

nlohmann::json event_view(const store::EventRecord& e) {
  auto data = nlohmann::json::parse(e.data_json, nullptr, false);
  return {{"seq", e.seq},
          {"time_ms", e.time_ms},
          {"type", e.type},
          {"service", e.service},
          {"instance", e.instance},
          {"message", e.message},
          {"data", data.is_discarded() ? nlohmann::json::object() : data}};
}

// Carries one service's new log lines from the log thread, where LogTail
// calls on_line, to the control loop: batched (one post per burst) and
// limited to so many lines a second, the rest counted.
class LogForwarder : public std::enable_shared_from_this<LogForwarder> {
 public:
  using Sink = std::function<void(const std::string& service, std::vector<supervisor::LogLine>,
                                  std::uint64_t dropped)>;

  LogForwarder(asio::io_context& io, const core::TimeSource& clock, std::string service,
               std::size_t per_second, Sink sink)
      : io_(io),
        clock_(clock),
        service_(std::move(service)),
        per_second_(per_second),
        sink_(std::move(sink)) {}

  // On the log thread.
  void add(const supervisor::LogLine& line) {
    std::lock_guard lock(mutex_);
    auto now = clock_.now();
    if (now - window_start_ >= std::chrono::seconds(1)) {
      window_start_ = now;
      in_window_ = 0;
    }
    if (in_window_ < per_second_) {
      pending_.push_back(line);
      ++in_window_;
    } else {
      ++dropped_;
    }
    if (posted_) return;
    posted_ = true;
    asio::post(io_, [self = shared_from_this()] { self->flush(); });
  }

 private:
  // On the control loop.
  void flush() {
    std::vector<supervisor::LogLine> lines;
    std::uint64_t dropped = 0;
    {
      std::lock_guard lock(mutex_);
      lines.swap(pending_);
      std::swap(dropped, dropped_);
      posted_ = false;
    }
    sink_(service_, std::move(lines), dropped);
  }

  asio::io_context& io_;
  const core::TimeSource& clock_;
  std::string service_;
  std::size_t per_second_;
  Sink sink_;
  std::mutex mutex_;
  std::vector<supervisor::LogLine> pending_;
  std::uint64_t dropped_ = 0;
  core::TimePoint window_start_{};
  std::size_t in_window_ = 0;
  bool posted_ = false;
};

}  // namespace

struct StreamWiring::Impl : std::enable_shared_from_this<StreamWiring::Impl> {
  Impl(asio::io_context& io_context, const core::TimeSource& time_source, api::ApiContext& context,
       StreamWiringOptions wiring_options)
      : io(io_context),
        clock(time_source),
        ctx(context),
        options(wiring_options),
        hub(std::make_shared<api::StreamHub>(time_source, wiring_options.hub)),
        flush_timer(io_context),
        tick_timer(io_context) {}

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
  std::vector<nlohmann::json> history(std::int64_t since, std::size_t limit) const;
  nlohmann::json view(const supervisor::Service& service) const {
    auto route = ctx.routes ? ctx.routes->find(service.name()) : nullptr;
    return api::service_view(*ctx.supervisor, *ctx.registry, service, route.get(), clock.now());
  }

  asio::io_context& io;
  const core::TimeSource& clock;
  api::ApiContext& ctx;
  StreamWiringOptions options;
  std::shared_ptr<api::StreamHub> hub;
  asio::steady_timer flush_timer;
  asio::steady_timer tick_timer;
  bool flush_scheduled = false;
  core::TimePoint last_flush{};
  std::map<std::string, nlohmann::json> services_sent;  // the last view each client got per service
  nlohmann::json health_sent;
  int events_subscription = 0;
  std::function<nlohmann::json()> breakers;
  std::function<nlohmann::json()> metrics;
  nlohmann::json metrics_latest = nlohmann::json::object();
};

void StreamWiring::Impl::start() {
  install_snapshots();
  hook_changes();
  for (const auto& svc : ctx.supervisor->services()) attach_logs(*svc);
  flush();  // the baseline the first deltas are measured against
  tick();
}

void StreamWiring::Impl::install_snapshots() {
  hub->set_sequence([this] { return ctx.events->last_seq(); });
  hub->set_service_exists(
      [this](const std::string& name) { return ctx.supervisor->find(name) != nullptr; });
  hub->set_history([this](std::int64_t since, std::size_t limit) { return history(since, limit); });
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
  hub->set_snapshot("logs:", [this](const std::string& topic) {
    std::string name = topic.substr(5);
    nlohmann::json lines = nlohmann::json::array();
    if (const auto* s = ctx.supervisor->find(name))
      for (const auto& line : s->logs()->tail(100)) lines.push_back(line_view(line));
    return nlohmann::json{{"service", name}, {"lines", std::move(lines)}};
  });
  hub->on_drop = [weak = weak_from_this()](const std::string& remote, const std::string& reason) {
    auto self = weak.lock();
    if (!self) return;
    // An event for the operator; published from a fresh turn of the loop,
    // not from inside the hub's fan-out.
    asio::post(self->io, [weak, remote, reason] {
      if (auto s = weak.lock())
        s->ctx.events->publish("websocket.dropped", "", "",
                               "WebSocket client " + remote + " dropped with 1008: " + reason,
                               {{"remote", remote}, {"reason", reason}});
    });
  };
}

void StreamWiring::Impl::hook_changes() {
  std::weak_ptr<Impl> weak = weak_from_this();
  // Chained, not replaced: the daemon syncs the registry from this hook.
  auto supervisor_previous = std::move(ctx.supervisor->on_change);
  ctx.supervisor->on_change = [weak, supervisor_previous](const supervisor::Service& s) {
    if (supervisor_previous) supervisor_previous(s);
    if (auto self = weak.lock()) self->mark_dirty();
  };
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
  ctx.events->unsubscribe(events_subscription);
  // WebSocket sessions share the hub and may outlive us: leave them
  // nothing that points back here.
  hub->set_sequence(nullptr);
  hub->set_service_exists(nullptr);
  hub->set_history(nullptr);
  for (const char* topic : {"services", "health", "events", "breakers", "metrics", "logs:"})
    hub->set_snapshot(topic, nullptr);
  hub->on_drop = nullptr;
}

void StreamWiring::Impl::attach_logs(const supervisor::Service& service) {
  auto forwarder = std::make_shared<LogForwarder>(
      io, clock, service.name(), options.log_lines_per_second,
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
    hub->publish(topic, line.instance + ":" + std::to_string(line.seq), line_view(line), seq);
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
    asio::post(io, [weak] {
      if (auto self = weak.lock()) self->flush();
    });
    return;
  }
  flush_timer.expires_after(wait);
  flush_timer.async_wait([weak](const boost::system::error_code& ec) {
    if (auto self = weak.lock(); self && !ec) self->flush();
  });
}

void StreamWiring::Impl::flush() {
  flush_scheduled = false;
  last_flush = clock.now();
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
  tick_timer.expires_after(options.tick);
  tick_timer.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (auto self = weak.lock(); self && !ec) self->tick();
  });
}

// Like GET /api/v1/events: the newest events from memory (the database
// writer may not have stored them yet), older ones from SQLite.
std::vector<nlohmann::json> StreamWiring::Impl::history(std::int64_t since,
                                                        std::size_t limit) const {
  std::vector<nlohmann::json> out;
  std::int64_t last = since;
  if (ctx.database && (ctx.events->oldest_seq() == 0 || since + 1 < ctx.events->oldest_seq())) {
    for (const auto& e : ctx.database->events_since(since, static_cast<int>(limit))) {
      if (ctx.events->oldest_seq() != 0 && e.seq >= ctx.events->oldest_seq()) break;
      out.push_back(event_view(e));
      last = e.seq;
    }
  }
  if (out.size() < limit)
    for (const auto& e : ctx.events->recent(last, limit - out.size())) out.push_back(e.to_json());
  return out;
}

StreamWiring::StreamWiring(asio::io_context& io, const core::TimeSource& clock,
                           api::ApiContext& context, StreamWiringOptions options)
    : impl_(std::make_shared<Impl>(io, clock, context, options)) {
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

void StreamWiring::attach_logs(const supervisor::Service& service) {
  impl_->attach_logs(service);
}

void StreamWiring::set_breakers(std::function<nlohmann::json()> snapshot) {
  impl_->breakers = std::move(snapshot);
}

void StreamWiring::set_metrics_summary(std::function<nlohmann::json()> summary) {
  impl_->metrics = std::move(summary);
}

}  // namespace meshd::daemon
