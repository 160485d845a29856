/// The dashboard's HTTP server: the JSON API (api.h), server-sent events
/// (change_feed.h), the static pages and the libraries they load from npm
/// (vendor.h), and access control (access.h), on cpp-httplib.
///
/// Start() binds (port 0: a free port), starts the change feed and a thread
/// that serves, and returns once the socket listens, so a client may connect
/// at once. Stop() (and the destructor) ends open event streams, stops
/// serving and joins. Handlers read the store through a pool of read-only
/// connections; the only thing the server writes is an exported bundle,
/// under HOME/exports/. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "flags/status.h"

namespace httplib {
class Server;
}

namespace orchard::web {

class ChangeFeed;
class ReaderPool;

struct ServerOptions {
  // The address to bind. REQUIRES: a token when it is not a loopback address.
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port
  // The access token; "" serves without one (loopback only).
  std::string token;
  std::string db_path;      // the store's SQLite file
  std::string exports_dir;  // where POST /api/tunes/ID/export writes (HOME/exports)
  // The folder of the pages (index.html, app files); "" or a missing folder
  // serves a built-in placeholder page.
  std::string static_dir;
  // The node_modules folder the pages' libraries come from (GET /vendor/NAME
  // serves the files vendor.h lists, nothing else); "" or a missing file
  // answers 404 naming scripts/install-deps.sh.
  std::string assets_dir;
  std::chrono::milliseconds poll_interval{500};
  int threads = 16;     // request threads; each open event stream holds one
  int max_streams = 8;  // concurrent /api/events streams; more get 503
};

class Server {
 public:
  static Result<std::unique_ptr<Server>> Start(ServerOptions options);
  ~Server();

  void Stop();
  int port() const { return port_; }
  // http://HOST:PORT/ (with ?token=... when there is a token).
  std::string url() const;

 private:
  Server() = default;
  void Routes();

  ServerOptions opt_;
  int port_ = 0;
  std::unique_ptr<httplib::Server> http_;
  std::unique_ptr<ReaderPool> pool_;
  std::unique_ptr<ChangeFeed> feed_;
  std::thread thread_;
  std::atomic<int> streams_{0};
  std::atomic<bool> stopped_{false};
};

}  // namespace orchard::web
