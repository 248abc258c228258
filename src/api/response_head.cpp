#include "response_head.hpp"

#include <boost/beast/http/status.hpp>

namespace meshd::api {

bool status_has_no_body(int status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

std::string response_head(const Response& response, std::size_t content_length,
                          const HeadOptions& options) {
  auto reason =
      boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(response.status));
  std::string head;
  head.reserve(160 + 64 * response.headers.size());
  head += options.version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  head += std::to_string(response.status);
  head += ' ';
  head.append(reason.data(), reason.size());
  head += "\r\nServer: meshd\r\n";
  auto field = [&head](std::string_view name, std::string_view value) {
    head.append(name);
    head += ": ";
    head.append(value);
    head += "\r\n";
  };
  field("Content-Type", response.content_type);
  for (const auto& [name, value] : response.headers) field(name, value);
  if (options.stale) field("X-Mesh-Stale", "true");
  if (!options.cors_origin.empty()) {
    field("Access-Control-Allow-Origin", options.cors_origin);
    field("Vary", "Origin");
    field("Access-Control-Expose-Headers", "X-Mesh-Index, X-Mesh-Stale");
  }
  if (!status_has_no_body(response.status)) field("Content-Length", std::to_string(content_length));
  // HTTP/1.1 keeps the connection unless told; HTTP/1.0 closes it unless told.
  if (options.version == 10 && options.keep_alive) field("Connection", "keep-alive");
  if (options.version != 10 && !options.keep_alive) field("Connection", "close");
  head += "\r\n";
  return head;
}

std::shared_ptr<const PreparedResponse> prepare_response(Response response) {
  auto prepared = std::make_shared<PreparedResponse>();
  std::string_view body = response.body_text();
  prepared->wire = response_head(response, body.size(), HeadOptions{});
  prepared->body_offset = prepared->wire.size();
  if (!status_has_no_body(response.status)) prepared->wire += body;
  response.body.clear();
  response.body.shrink_to_fit();
  response.shared_body.reset();
  prepared->response = std::move(response);
  return prepared;
}

}  // namespace meshd::api
