// api::ResponseBatch (http_types.hpp): the answers given while one is open
// go out together when the outermost closes.

#include "response_batch.hpp"

#include <utility>
#include <vector>

#include "http_session.hpp"
#include "meshd/api/http_types.hpp"

namespace meshd::api {
namespace {

// The answers queued while a ResponseBatch is open (one control loop: no locks).
struct Batch {
  int depth = 0;
  std::vector<std::shared_ptr<HttpSession>> sessions;
  std::vector<std::pair<std::size_t, boost::beast::error_code>> results;
};
thread_local Batch t_batch;

}  // namespace

bool hold_in_batch(std::shared_ptr<HttpSession> session) {
  if (t_batch.depth == 0) return false;
  t_batch.sessions.push_back(std::move(session));
  return true;
}

ResponseBatch::ResponseBatch() {
  ++t_batch.depth;
}

// The sends first, in one tight loop that keeps the kernel's send path
// warm in the cache; the bookkeeping of each connection after all of them.
ResponseBatch::~ResponseBatch() {
  if (--t_batch.depth > 0) return;
  auto sessions = std::move(t_batch.sessions);
  t_batch.sessions.clear();
  auto& results = t_batch.results;
  results.resize(sessions.size());
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    results[i].second = {};
    results[i].first = sessions[i]->send_now(results[i].second);
  }
  for (std::size_t i = 0; i < sessions.size(); ++i)
    sessions[i]->after_send(results[i].first, results[i].second);
}

}  // namespace meshd::api
