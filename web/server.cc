#include "web/server.h"

#include <httplib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "orchestrator/util/clock.h"
#include "web/access.h"
#include "web/api.h"
#include "web/change_feed.h"
#include "web/json_text.h"
#include "web/reader_pool.h"
#include "web/safe_path.h"
#include "web/vendor.h"

namespace orchard::web {

namespace {

using httplib::Request;
using httplib::Response;
using HR = httplib::Server::HandlerResponse;

// Shown when the pages folder has no index.html (a wrong --static).
constexpr const char* kPlaceholderPage = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Orchard</title></head>
<body><h1>Orchard</h1><p>Store: {{store}}</p>
<p>The dashboard pages are not installed (no index.html in the folder `orchard ui --static`
names); the JSON API is at <a href="/api/runs">/api/runs</a> (see docs/api.md).</p></body></html>
)";

constexpr const char* kPageSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'";

Params ToParams(const Request& req) {
  Params p;
  for (const auto& [k, v] : req.params) p.emplace(k, v);  // the first of a repeated name
  return p;
}

void SendJson(Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(DumpJson(body), "application/json");
}

void SendError(Response& res, const Status& s) {
  SendJson(res, HttpStatusFor(s), {{"error", s.message()}});
}

void SendResult(Response& res, const Result<nlohmann::json>& r) {
  if (r.ok()) {
    SendJson(res, 200, *r);
  } else {
    SendError(res, r.status());
  }
}

std::string ReadWhole(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string SafeFilename(const std::string& name) {
  std::string out;
  for (char c : name) {
    out += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ? c : '_';
  }
  return out.empty() ? "file" : out;
}

// Streams a file (artifacts can be large) with headers that keep a browser
// from running it: a download by default, inline only for plain images and
// text, and a sandboxing security policy either way.
void SendFile(Response& res, const std::string& path, bool want_inline) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  auto in = std::make_shared<std::ifstream>(path, std::ios::binary);
  if (ec || !*in) return SendError(res, Status::IoError("cannot read " + path));
  std::string type = MimeTypeFor(path);
  const bool can_inline = type == "image/png" || type == "image/jpeg" || type == "image/gif" ||
                          type.rfind("text/plain", 0) == 0 || type.rfind("text/csv", 0) == 0;
  const bool show = want_inline && can_inline;
  res.set_header("Content-Disposition",
                 std::string(show ? "inline" : "attachment") + "; filename=\"" +
                     SafeFilename(std::filesystem::path(path).filename().string()) + "\"");
  res.set_header("Content-Security-Policy", "default-src 'none'; sandbox");
  res.set_content_provider(
      size, show ? type : "application/octet-stream",
      [in](size_t offset, size_t length, httplib::DataSink& sink) {
        char buf[64 * 1024];
        in->clear();
        in->seekg(static_cast<std::streamoff>(offset));
        in->read(buf, static_cast<std::streamsize>(std::min(length, sizeof buf)));
        std::streamsize n = in->gcount();
        if (n <= 0) return false;
        return sink.write(buf, static_cast<size_t>(n));
      });
}

// Runs fn(reader, req, res) with a pooled read-only connection.
template <typename Fn>
httplib::Server::Handler WithReader(ReaderPool* pool, Fn fn) {
  return [pool, fn](const Request& req, Response& res) {
    auto lease = pool->Acquire();
    if (!lease.ok()) return SendError(res, lease.status());
    fn(**lease, req, res);
  };
}

struct StreamState {
  int64_t cursor = 0;
  bool hello = false;
  int idle_ticks = 0;
};

}  // namespace

Result<std::unique_ptr<Server>> Server::Start(ServerOptions options) {
  if (options.token.empty() && !IsLoopbackHost(options.host)) {
    return Status::InvalidArgument("--host " + options.host +
                                   " is not a loopback address: an access token is required");
  }
  if (options.db_path.empty()) return Status::InvalidArgument("no store to serve");
  std::unique_ptr<Server> s(new Server());
  s->opt_ = std::move(options);
  s->pool_ = std::make_unique<ReaderPool>(s->opt_.db_path);
  {
    auto probe = s->pool_->Acquire();  // fails early on a missing or foreign file
    if (!probe.ok()) return probe.status();
  }
  auto feed = ChangeFeed::Open(s->opt_.db_path, s->opt_.poll_interval);
  if (!feed.ok()) return feed.status();
  s->feed_ = std::move(feed).value();

  s->http_ = std::make_unique<httplib::Server>();
  const int threads = std::max(2, s->opt_.threads);
  s->http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Headers and body go out in separate writes: without TCP_NODELAY, Nagle's
  // algorithm and the client's delayed ACK add ~40 ms to every response.
  s->http_->set_tcp_nodelay(true);
  s->Routes();

  const std::string& host = s->opt_.host;
  errno = 0;
  if (s->opt_.port == 0) {
    s->port_ = s->http_->bind_to_any_port(host);
  } else {
    s->port_ = s->http_->bind_to_port(host, s->opt_.port) ? s->opt_.port : -1;
  }
  if (s->port_ <= 0) {
    std::string why = errno ? std::strerror(errno) : "the address cannot be bound";
    return Status::IoError("cannot listen on " + host + ":" + std::to_string(s->opt_.port) +
                           ": " + why);
  }
  s->feed_->Start();
  httplib::Server* http = s->http_.get();
  s->thread_ = std::thread([http] { http->listen_after_bind(); });
  return s;
}

Server::~Server() { Stop(); }

void Server::Stop() {
  if (stopped_.exchange(true)) return;
  if (feed_) feed_->Stop();  // wakes the event streams, which then end
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string Server::url() const {
  std::string h = opt_.host.find(':') != std::string::npos ? "[" + opt_.host + "]" : opt_.host;
  return "http://" + h + ":" + std::to_string(port_) + "/" +
         (opt_.token.empty() ? "" : "?token=" + opt_.token);
}

void Server::Routes() {
  httplib::Server& http = *http_;
  ReaderPool* pool = pool_.get();
  http.set_default_headers({{"X-Content-Type-Options", "nosniff"},
                            {"Referrer-Policy", "no-referrer"},
                            {"X-Frame-Options", "DENY"},
                            {"Cache-Control", "no-store"}});

  http.set_pre_routing_handler([this](const Request& req, Response& res) {
    AccessRequest a{req.get_header_value("Authorization"), req.get_header_value("Cookie"),
                    req.get_param_value("token"), req.get_header_value("Host")};
    switch (CheckAccess(opt_.token, a)) {
      case Access::kAllowed: return HR::Unhandled;
      case Access::kAllowedSetCookie:
        res.set_header("Set-Cookie",
                       "orchard_token=" + opt_.token + "; Path=/; HttpOnly; SameSite=Strict");
        return HR::Unhandled;
      case Access::kNoToken:
        res.set_header("WWW-Authenticate", "Bearer");
        SendJson(res, 401,
                 {{"error", "this server needs its access token: send 'Authorization: Bearer "
                            "TOKEN', or open the URL `orchard ui` printed (it carries "
                            "?token=TOKEN)"}});
        return HR::Handled;
      case Access::kBadHost:
        SendJson(res, 403,
                 {{"error", "Host '" + req.get_header_value("Host") +
                                "' is not a loopback name; this server answers only to "
                                "127.0.0.1, localhost or [::1] (or start it with --token)"}});
        return HR::Handled;
    }
    return HR::Handled;
  });
  http.set_error_handler(httplib::Server::HandlerWithResponse([](const Request& req,
                                                                  Response& res) {
    if (!res.body.empty() || res.status < 400) return HR::Unhandled;
    std::string msg = res.status == 404 ? "no such endpoint: " + req.method + " " + req.path +
                                              " (docs/api.md lists them)"
                                        : "HTTP " + std::to_string(res.status) + " for " +
                                              req.method + " " + req.path;
    SendJson(res, res.status, {{"error", msg}});
    return HR::Handled;
  }));
  http.set_exception_handler([](const Request& req, Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    SendJson(res, 500, {{"error", "internal error in " + req.method + " " + req.path + ": " + what}});
  });

  // Pages.
  auto index = [this](const Request&, Response& res) {
    std::string page;
    std::error_code ec;
    if (!opt_.static_dir.empty() &&
        std::filesystem::is_regular_file(opt_.static_dir + "/index.html", ec)) {
      page = ReadWhole(opt_.static_dir + "/index.html");
    } else {
      page = kPlaceholderPage;
    }
    const std::string marker = "{{store}}";
    for (size_t at; (at = page.find(marker)) != std::string::npos;) {
      page.replace(at, marker.size(), HtmlEscape(opt_.db_path));
    }
    res.set_header("Content-Security-Policy", kPageSecurityPolicy);
    res.set_content(page, "text/html; charset=utf-8");
  };
  http.Get("/", index);
  http.Get("/index.html", index);
  http.Get(R"(/static/(.+))", [this](const Request& req, Response& res) {
    if (opt_.static_dir.empty()) return SendError(res, Status::NotFound("no static folder"));
    auto file = ResolveInside(opt_.static_dir, req.matches[1]);
    if (!file.ok()) return SendError(res, file.status().WithContext("static file"));
    res.set_header("Content-Security-Policy", kPageSecurityPolicy);
    res.set_content(ReadWhole(*file), MimeTypeFor(*file));
  });
  // The pages' libraries, from npm: a fixed list of files, by name only.
  http.Get(R"(/vendor/(.+))", [this](const Request& req, Response& res) {
    auto file = VendorFilePath(opt_.assets_dir, req.matches[1]);
    if (!file.ok()) return SendError(res, file.status());
    res.set_content(ReadWhole(*file), MimeTypeFor(*file));
  });

  // The API.
  http.Get("/api/info", WithReader(pool, [this](store::SqliteRunStore& s, const Request&,
                                                Response& res) {
    store::RunQuery all;
    auto runs = s.CountRuns(all);
    if (!runs.ok()) return SendError(res, runs.status());
    SendJson(res, 200, {{"version", ORCHARD_VERSION},
                        {"store", opt_.db_path},
                        {"runs", *runs},
                        {"token_required", !opt_.token.empty()},
                        {"events", "/api/events"}});
  }));
  http.Get("/api/fields", WithReader(pool, [](store::SqliteRunStore& s, const Request&,
                                              Response& res) { SendResult(res, FieldsJson(s.db())); }));
  http.Get("/api/runs", WithReader(pool, [](store::SqliteRunStore& s, const Request& req,
                                            Response& res) {
    SendResult(res, ListRunsJson(s, ToParams(req), NowSeconds()));
  }));
  http.Get(R"(/api/runs/([^/]+))", WithReader(pool, [](store::SqliteRunStore& s,
                                                       const Request& req, Response& res) {
    SendResult(res, RunDetailJson(s, req.matches[1], NowSeconds()));
  }));
  http.Get(R"(/api/runs/([^/]+)/logs)", WithReader(pool, [](store::SqliteRunStore& s,
                                                            const Request& req, Response& res) {
    SendResult(res, LogsJson(s, req.matches[1], ToParams(req)));
  }));
  http.Get(R"(/api/runs/([^/]+)/artifacts)",
           WithReader(pool, [](store::SqliteRunStore& s, const Request& req, Response& res) {
             SendResult(res, ArtifactsJson(s, req.matches[1]));
           }));
  http.Get(R"(/api/runs/([^/]+)/artifacts/(.+))",
           WithReader(pool, [](store::SqliteRunStore& s, const Request& req, Response& res) {
             auto file = ArtifactFile(s, req.matches[1], req.matches[2]);
             if (!file.ok()) return SendError(res, file.status());
             SendFile(res, *file, req.get_param_value("inline") == "1");
           }));
  http.Get(R"(/api/runs/([^/]+)/snapshot)",
           WithReader(pool, [](store::SqliteRunStore& s, const Request& req, Response& res) {
             SendResult(res, SnapshotJson(s, req.matches[1]));
           }));
  http.Get(R"(/api/runs/([^/]+)/snapshot/(.+))",
           WithReader(pool, [](store::SqliteRunStore& s, const Request& req, Response& res) {
             SendResult(res, SnapshotFileJson(s, req.matches[1], req.matches[2]));
           }));
  http.Get("/api/metrics", WithReader(pool, [](store::SqliteRunStore& s, const Request& req,
                                               Response& res) {
    auto text = MetricSeriesText(s, ToParams(req), &s.db());
    if (!text.ok()) return SendError(res, text.status());
    res.set_content(*text, "application/json");
  }));
  http.Get("/api/compare", WithReader(pool, [](store::SqliteRunStore& s, const Request& req,
                                               Response& res) {
    SendResult(res, CompareJson(s, ToParams(req), NowSeconds()));
  }));
  http.Get("/api/diff", WithReader(pool, [](store::SqliteRunStore& s, const Request& req,
                                            Response& res) {
    SendResult(res, DiffJson(s, ToParams(req)));
  }));
  http.Get("/api/tunes", WithReader(pool, [](store::SqliteRunStore& s, const Request& req,
                                             Response& res) {
    SendResult(res, TunesJson(s, ToParams(req)));
  }));
  http.Get(R"(/api/tunes/([^/]+))", WithReader(pool, [](store::SqliteRunStore& s,
                                                        const Request& req, Response& res) {
    SendResult(res, TuneDetailJson(s, req.matches[1], NowSeconds()));
  }));
  http.Post(R"(/api/tunes/([^/]+)/export)", [this, pool](const Request& req, Response& res) {
    // With no token the server is bound to loopback, so the caller is local;
    // checked again here because this action writes files.
    if (opt_.token.empty() && !IsLoopbackHost(req.remote_addr)) {
      return SendJson(res, 403, {{"error", "export: only from this machine or with the token"}});
    }
    // A page on another site cannot send application/json here without a
    // CORS preflight, which this server never grants: no cross-site export.
    if (req.get_header_value("Content-Type").rfind("application/json", 0) != 0) {
      return SendJson(res, 415, {{"error", "export: send the request body as application/json "
                                           "(an empty object {} is fine)"}});
    }
    const std::string origin = req.get_header_value("Origin");
    if (!origin.empty() && origin != "http://" + req.get_header_value("Host")) {
      return SendJson(res, 403, {{"error", "export: Origin " + origin +
                                               " is not this server"}});
    }
    nlohmann::json body = nlohmann::json::object();
    if (!req.body.empty()) {
      body = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
      if (body.is_discarded()) {
        return SendJson(res, 400, {{"error", "export: the request body is not valid JSON"}});
      }
    }
    auto lease = pool->Acquire();
    if (!lease.ok()) return SendError(res, lease.status());
    SendResult(res, ExportTuneJson(**lease, req.matches[1], body, opt_.exports_dir, NowSeconds()));
  });

  // Server-sent events.
  http.Get("/api/events", [this](const Request& req, Response& res) {
    std::string from = req.get_header_value("Last-Event-ID");
    if (from.empty()) from = req.get_param_value("cursor");
    auto state = std::make_shared<StreamState>();
    state->cursor = feed_->last_id();
    if (!from.empty()) {
      Params p{{"cursor", from}};
      auto c = IntParam(p, "cursor", 0, 0, INT64_MAX);
      if (!c.ok()) return SendError(res, c.status());
      state->cursor = std::min(*c, feed_->last_id());
    }
    if (streams_.fetch_add(1) >= opt_.max_streams) {
      --streams_;
      return SendJson(res, 503, {{"error", "too many open event streams (" +
                                               std::to_string(opt_.max_streams) +
                                               "); close a page and retry"}});
    }
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, state](size_t, httplib::DataSink& sink) {
          std::string out;
          if (!state->hello) {
            state->hello = true;
            out = "retry: 2000\nevent: hello\ndata: " +
                  DumpJson({{"cursor", state->cursor}}) + "\n\n";
            return sink.write(out.data(), out.size());
          }
          bool reset = false;
          auto events = feed_->Wait(state->cursor, std::chrono::seconds(1), 500, &reset);
          if (stopped_ || feed_->stopped()) {
            sink.done();
            return true;
          }
          if (reset) {
            state->cursor = feed_->last_id();
            out = "id: " + std::to_string(state->cursor) + "\nevent: reset\ndata: {}\n\n";
          }
          for (const auto& e : events) {
            out += "id: " + std::to_string(e.id) + "\nevent: " + e.type +
                   "\ndata: " + DumpJson(e.data) + "\n\n";
            state->cursor = e.id;
          }
          if (out.empty() && ++state->idle_ticks >= 15) out = ": ping\n\n";
          if (out.empty()) return true;
          state->idle_ticks = 0;
          return sink.write(out.data(), out.size());
        },
        [this](bool) { --streams_; });
  });
}

}  // namespace orchard::web
