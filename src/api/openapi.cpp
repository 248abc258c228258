#include "meshd/api/openapi.hpp"

#include <map>
#include <memory>

#include "meshd/api/content_types.hpp"
#include "meshd/core/text.hpp"

namespace meshd::api {
namespace {

// "METHOD pattern" -> {tag, summary}. Patterns as registered; a route's
// final literal segment (start|stop|...) is part of the pattern.
const std::map<std::string, std::pair<std::string, std::string>>& summaries() {
  static const std::map<std::string, std::pair<std::string, std::string>> s = {
      {"GET /", {"dashboard", "The web dashboard"}},
      {"GET /ui", {"dashboard", "The web dashboard"}},
      {"GET /docs", {"docs", "This API's documentation, rendered"}},
      {"GET /openapi.json", {"docs", "This document"}},
      {"GET /metrics",
       {"metrics",
        "Prometheus exposition of services, instances, gateway, breakers and meshd itself"}},
      {"GET /ws",
       {"stream",
        "WebSocket stream: subscribe to services, health, breakers, events, logs:<service>, "
        "metrics, nodes"}},
      {"GET /api/v1/health",
       {"services", "Overall health: healthy|degraded|unhealthy and counts by state"}},
      {"GET /api/v1/services",
       {"services", "Every service: state, health, instances, breakers, dependencies"}},
      {"GET /api/v1/services/{name}", {"services", "One service"}},
      {"POST /api/v1/services/{name}/start",
       {"services", "Start a service (after its dependencies); clears crash history"}},
      {"POST /api/v1/services/{name}/stop",
       {"services", "Stop a service: drain, signal, SIGKILL after the timeout"}},
      {"POST /api/v1/services/{name}/restart",
       {"services",
        "Restart a service's instances: a serving one is rolled through its rollout gate "
        "(GET .../rollout follows it)"}},
      {"GET /api/v1/services/{name}/rollout",
       {"services",
        "The service's last or running rollout: state (progressing, waiting_promote, succeeded, "
        "failed, reverted; null before any), trigger, reason, settings, each replica's old and "
        "new instance, its state and healthy_for_ms"}},
      {"POST /api/v1/services/{name}/rollout/promote",
       {"services",
        "Promote the canaries of a rollout that waits for it: their old instances drain and the "
        "rest rolls on (409 when none waits)"}},
      {"POST /api/v1/services/{name}/rollout/abort",
       {"services",
        "Abort the running rollout: new instances stop, old ones keep serving, replaced replicas "
        "get the previous definition back; ends reverted (409 when none runs)"}},
      {"GET /api/v1/services/{name}/logs",
       {"services", "Last lines of output (?tail=N&stream=stdout|stderr)"}},
      {"GET /api/v1/services/{name}/instances/{id}/explain",
       {"registry", "Why an instance is or is not in rotation"}},
      {"POST /api/v1/services/{name}/instances/{id}/drain",
       {"registry", "Take an instance out of rotation (kept across restarts)"}},
      {"POST /api/v1/services/{name}/instances/{id}/maintenance",
       {"registry", "Put an instance in maintenance (kept across restarts)"}},
      {"POST /api/v1/services/{name}/instances/{id}/ready",
       {"registry", "Clear drain and maintenance"}},
      {"GET /api/v1/discover/{service}",
       {"registry",
        "Instances of a service, every node's (?tag=&passing=true); blocking with ?index=&wait=; "
        "\"stale\": true while the cluster catalog is unreachable"}},
      {"POST /api/v1/registry", {"registry", "Register an external instance with its check"}},
      {"DELETE /api/v1/registry/{service}/{instance}",
       {"registry", "Deregister a registered instance"}},
      {"PUT /api/v1/registry/{service}/{instance}/ttl",
       {"registry", "Pass a TTL check (optional {\"note\"})"}},
      {"GET /api/v1/resolve/{service}",
       {"traffic", "Pick one instance as the gateway would (proxyless clients)"}},
      {"POST /api/v1/report",
       {"traffic", "Report a call's outcome {service, instance, ok, latency_ms}"}},
      {"GET /api/v1/breakers", {"traffic", "Every instance's circuit breaker"}},
      {"POST /api/v1/breakers/{service}/{instance}/open", {"traffic", "Force a breaker open"}},
      {"POST /api/v1/breakers/{service}/{instance}/close", {"traffic", "Close a breaker"}},
      {"POST /api/v1/breakers/{service}/{instance}/reset",
       {"traffic", "Reset a breaker (closed, open time back to base)"}},
      {"GET /api/v1/events", {"events", "Persisted history (?since=SEQ&limit=N)"}},
      {"GET /api/v1/config",
       {"config",
        "The running config (secrets redacted), its version, the last rejected one, a reload in "
        "progress; differs_from_file and reverted while a reverted rollout keeps services on "
        "their previous definition"}},
      {"POST /api/v1/config/reload",
       {"config", "Reload the file given with -c (?wait=true answers when the rollout is done)"}},
      {"GET /api/v1/config/history",
       {"config", "Applied config versions, newest first (?limit=N)"}},
      {"POST /api/v1/config/rollback",
       {"config", "Apply an earlier version again (?to=N&wait=true)"}},
      {"POST /admin/config",
       {"aliases",
        "Seed alias: apply a config from the body (YAML, or a JSON patch / merge patch)"}},
      {"POST /api/v1/tests/run", {"tests", "Run the declared tests through the gateway"}},
      {"GET /api/v1/tests", {"tests", "The last run of the declared tests"}},
      {"GET /api/v1/version", {"meta", "meshd's version"}},
      {"GET /api/v1/nodes",
       {"cluster",
        "The meshd nodes sharing the catalog (this one first): address, API address, version, "
        "state, instances, last seen; and whether the catalog is stale"}},
      {"GET /api/services/status", {"aliases", "Seed alias of GET /api/v1/services"}},
      {"GET /health/system", {"aliases", "Seed alias of GET /api/v1/health"}},
      {"GET /health/service/{name}", {"aliases", "Seed alias of GET /api/v1/services/{name}"}},
      {"GET /health/circuit-breakers", {"aliases", "Seed alias of GET /api/v1/breakers"}},
      {"POST /admin/restart-service/{name}",
       {"aliases", "Seed alias of POST /api/v1/services/{name}/restart"}},
  };
  return s;
}

bool mutating(const std::string& method) {
  return method != "GET" && method != "HEAD";
}

// The one body this document spells out: GET /api/v1/nodes (docs/api.md),
// which cluster tooling reads.
nlohmann::json nodes_schema() {
  auto str = nlohmann::json{{"type", "string"}};
  auto ms = nlohmann::json{{"type", "integer"}, {"description", "Unix milliseconds"}};
  nlohmann::json node = {{"type", "object"},
                         {"properties",
                          {{"name", str},
                           {"address", str},
                           {"api_address", str},
                           {"version", str},
                           {"state", {{"type", "string"}, {"enum", {"alive", "lost", "left"}}}},
                           {"instances", {{"type", "integer"}}},
                           {"last_seen", ms},
                           {"started_at", ms},
                           {"self", {{"type", "boolean"}}}}}};
  return {{"type", "object"},
          {"properties",
           {{"nodes", {{"type", "array"}, {"items", node}}},
            {"stale", {{"type", "boolean"}}},
            {"clustered", {{"type", "boolean"}}}}}};
}

const char* kDocsPage = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>meshd API</title>
<style>
:root { color-scheme: light dark; --fg:#1b1f24; --bg:#fff; --muted:#57606a; --line:#d0d7de; --get:#0969da; --post:#1a7f37; --put:#9a6700; --delete:#cf222e; }
@media (prefers-color-scheme: dark) { :root { --fg:#e6edf3; --bg:#0d1117; --muted:#8d96a0; --line:#30363d; } }
body { font: 14px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 980px; padding: 24px; color: var(--fg); background: var(--bg); }
h2 { border-bottom: 1px solid var(--line); padding-bottom: 4px; margin-top: 28px; text-transform: capitalize; }
.op { display: grid; grid-template-columns: 72px 1fr; gap: 8px; padding: 6px 0; border-bottom: 1px solid var(--line); }
.m { font: 600 12px ui-monospace, monospace; }
.GET { color: var(--get); } .POST { color: var(--post); } .PUT { color: var(--put); } .DELETE { color: var(--delete); }
code { font: 13px ui-monospace, monospace; } .s { color: var(--muted); } .lock { font-size: 12px; color: var(--muted); }
</style></head><body>
<h1>meshd API</h1>
<p class="s">Generated from the running daemon's routes: <a href="/openapi.json">/openapi.json</a>. Errors are
<code>{"error": {"code", "message"}}</code>. With <code>mesh.api_token</code> set, calls marked 🔒 need
<code>Authorization: Bearer &lt;token&gt;</code>. While a cluster node cannot reach etcd, every
response carries <code>X-Mesh-Stale: true</code>.</p>
<div id="ops">Loading…</div>
<script type="module">
const doc = await (await fetch('/openapi.json')).json();
const byTag = {};
for (const [path, ops] of Object.entries(doc.paths))
  for (const [method, op] of Object.entries(ops)) (byTag[op.tags[0]] ??= []).push({ path, method: method.toUpperCase(), op });
const root = document.getElementById('ops');
root.textContent = '';
for (const [tag, ops] of Object.entries(byTag)) {
  const h = document.createElement('h2'); h.textContent = tag; root.append(h);
  for (const { path, method, op } of ops) {
    const row = document.createElement('div'); row.className = 'op';
    const m = document.createElement('span'); m.className = 'm ' + method; m.textContent = method;
    const d = document.createElement('div');
    const c = document.createElement('code'); c.textContent = path;
    const s = document.createElement('div'); s.className = 's'; s.textContent = op.summary;
    d.append(c);
    if (op.security?.length) { const l = document.createElement('span'); l.className = 'lock'; l.textContent = ' 🔒'; d.append(l); }
    d.append(s); row.append(m, d); root.append(row);
  }
}
</script></body></html>
)HTML";

}  // namespace

nlohmann::json openapi_document(const Router& router, const std::string& version) {
  nlohmann::json paths = nlohmann::json::object();
  std::vector<std::pair<std::string, std::string>> routes = router.routes();
  routes.emplace_back("GET", "/openapi.json");
  routes.emplace_back("GET", "/docs");
  routes.emplace_back("GET", "/ws");
  for (const auto& [method, pattern] : routes) {
    if (pattern.rfind("/ui/", 0) == 0) continue;  // dashboard assets
    auto it = summaries().find(method + " " + pattern);
    nlohmann::json params = nlohmann::json::array();
    for (std::size_t pos = pattern.find('{'); pos != std::string::npos;
         pos = pattern.find('{', pos + 1)) {
      auto end = pattern.find('}', pos);
      params.push_back({{"name", pattern.substr(pos + 1, end - pos - 1)},
                        {"in", "path"},
                        {"required", true},
                        {"schema", {{"type", "string"}}}});
    }
    // Every answer may carry X-Mesh-Stale (the one place that writes
    // heads adds it, whatever the route).
    nlohmann::json stale = {{"X-Mesh-Stale", {{"$ref", "#/components/headers/X-Mesh-Stale"}}}};
    nlohmann::json ok = {{"description", "OK"}, {"headers", stale}};
    if (pattern == "/api/v1/nodes")
      ok["content"] = {
          {"application/json", {{"schema", {{"$ref", "#/components/schemas/Nodes"}}}}}};
    nlohmann::json op = {
        {"summary", it == summaries().end() ? "undocumented" : it->second.second},
        {"tags", {it == summaries().end() ? "undocumented" : it->second.first}},
        {"parameters", params},
        {"responses",
         {{"200", ok},
          {"default",
           {{"description", "Error: {\"error\": {\"code\", \"message\"}}"}, {"headers", stale}}}}}};
    if (mutating(method))
      op["security"] = nlohmann::json::array({{{"bearer", nlohmann::json::array()}}});
    paths[pattern][core::lower(method)] = op;
  }
  return {{"openapi", "3.0.3"},
          {"info",
           {{"title", "meshd"},
            {"version", version},
            {"description",
             "meshd's REST surface (SPEC section 5), generated from its router. While a cluster "
             "node cannot reach etcd, every response carries the header X-Mesh-Stale: true and "
             "discovery and resolve bodies \"stale\": true (docs/cluster.md)."}}},
          {"components",
           {{"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}},
            {"headers",
             {{"X-Mesh-Stale",
               {{"description",
                 "\"true\" while this cluster node cannot reach etcd: the answer reflects the last "
                 "catalog it knew. Absent otherwise."},
                {"schema", {{"type", "string"}, {"enum", {"true"}}}}}}}},
            {"schemas", {{"Nodes", nodes_schema()}}}}},
          {"paths", paths}};
}

void register_openapi_routes(Router& router, const std::string& version) {
  // The document is built once, at the first request, when every route is
  // registered (the daemon adds some after this, the config routes once the
  // reloader exists). The router owns this handler, so it outlives it.
  auto doc = std::make_shared<std::string>();
  router.add("GET", "/openapi.json",
             [&router, version, doc](const Request&, const Params&, Respond respond) {
               if (doc->empty()) *doc = openapi_document(router, version).dump(2);
               Response r;
               r.body = *doc;
               respond(std::move(r));
             });
  router.add("GET", "/docs", [](const Request&, const Params&, Respond respond) {
    Response r;
    r.content_type = std::string(content_type_for("docs.html"));
    r.body = kDocsPage;
    respond(std::move(r));
  });
}

}  // namespace meshd::api
