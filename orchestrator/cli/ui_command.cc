// orchard ui [--port P] [--host H] [--token T] [--static DIR] [--assets DIR]
#include <poll.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include "orchestrator/cli/commands.h"
#include "orchestrator/exec/stop_signal.h"
#include "web/access.h"
#include "web/server.h"
#include "web/web_dirs.h"

namespace orchard::cli {

namespace {

struct UiOptions {
  int port = 8765;
  std::string host = "127.0.0.1";
  std::string token;
  std::string static_dir;  // "": web::DefaultWebDirs
  std::string assets_dir;  // "": web::DefaultWebDirs
};

Status DoUi(Context& ctx, const UiOptions& o) {
  if (o.port < 0 || o.port > 65535) return Status::InvalidArgument("--port must be 0 to 65535");
  auto home = ctx.Home();
  if (!home.ok()) return home.status();
  {
    auto store = ctx.OpenStore(/*create=*/false);  // a clear error when there is none
    if (!store.ok()) return store.status();
  }
  web::ServerOptions opt;
  opt.host = o.host;
  opt.port = o.port;
  opt.token = o.token;
  bool generated = false;
  if (opt.token.empty() && !web::IsLoopbackHost(opt.host)) {
    auto token = web::GenerateToken();
    if (!token.ok()) return token.status();
    opt.token = *token;
    generated = true;
  }
  opt.db_path = home->db_path;
  opt.exports_dir = (std::filesystem::path(home->root) / "exports").string();
  // Beside an installed executable, else the source tree (web_dirs.h).
  const web::WebDirs dirs =
      web::DefaultWebDirs(web::CurrentExecutable(), ORCHARD_WEB_STATIC_DIR, ORCHARD_WEB_ASSETS_DIR);
  opt.static_dir = o.static_dir.empty() ? dirs.static_dir : o.static_dir;
  opt.assets_dir = o.assets_dir.empty() ? dirs.assets_dir : o.assets_dir;

  exec::StopSignal stop;  // before the server's threads start, so they inherit the mask
  auto server = web::Server::Start(opt);
  if (!server.ok()) return server.status();
  std::cout << "Orchard dashboard for " << home->root << "\n  " << (*server)->url() << "\n";
  if (!opt.token.empty()) {
    std::cout << "  access token" << (generated ? " (generated)" : "") << ": " << opt.token
              << "\n  every request needs it: 'Authorization: Bearer TOKEN' or ?token=TOKEN\n";
  }
  std::cout << "  pages: " << opt.static_dir << "\n  libraries: " << opt.assets_dir << "\n"
            << "  JSON API: docs/api.md. Ctrl-C stops.\n"
            << std::flush;
  pollfd p{stop.fd(), POLLIN, 0};
  while (poll(&p, 1, -1) < 0 && errno == EINTR) {
  }
  stop.Drain();
  std::cout << "stopping\n" << std::flush;
  (*server)->Stop();
  return Status::Ok();
}

}  // namespace

void AddUiCommand(CLI::App& app, Context& ctx, Action& action) {
  auto o = std::make_shared<UiOptions>();
  app.description(
      "Serves the dashboard and its JSON API (docs/api.md) over the store, read-only, with "
      "live updates as runs progress. Binds 127.0.0.1 by default; on any other address every "
      "request needs an access token (generated and printed unless --token gives one).");
  app.add_option("--port,-p", o->port, "TCP port; 0 picks a free one");
  app.add_option("--host", o->host, "Address to bind (a non-loopback one requires the token)");
  app.add_option("--token", o->token,
                 "Access token; when given, every request needs it, even on loopback");
  app.add_option("--static", o->static_dir,
                 "Folder of the dashboard pages (default: PREFIX/share/orchard/web/static beside "
                 "the executable, else the source tree's web/static)");
  app.add_option("--assets", o->assets_dir,
                 "The node_modules folder with the pages' libraries, ECharts and diff2html "
                 "(default: PREFIX/share/orchard/web/node_modules, else the source tree's; "
                 "scripts/install-deps.sh installs them)");
  app.callback([&ctx, &action, o] { action = [&ctx, o] { return DoUi(ctx, *o); }; });
}

}  // namespace orchard::cli
