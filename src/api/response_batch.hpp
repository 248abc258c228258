#pragma once
// Private to the api module: not part of meshd's public headers (include/meshd/).

// the queue behind api::ResponseBatch (http_types.hpp).

#include <memory>

namespace meshd::api {

class HttpSession;

/// Queues `session`'s answer while a ResponseBatch is open on this thread
/// and returns true; returns false (send it now) when none is.
bool hold_in_batch(std::shared_ptr<HttpSession> session);

}  // namespace meshd::api
