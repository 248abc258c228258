#pragma once

#include <nlohmann/json.hpp>

#include "meshd/api/router.hpp"

namespace meshd::api {

/// An OpenAPI 3.0 document of every route registered on `router`, built
/// from the router itself (so it cannot miss a route) and a table of
/// summaries; routes without a summary are listed as undocumented, which
/// the tests reject.
nlohmann::json openapi_document(const Router& router, const std::string& version);

/// Registers GET /openapi.json and GET /docs (a page that renders the
/// document, served by meshd itself, no CDN). The document lists the
/// routes registered by the first request for it, so routes added later
/// at start-up are in it too.
void register_openapi_routes(Router& router, const std::string& version);

}  // namespace meshd::api
