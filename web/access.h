/// Who may use the server (docs/api.md, "Access").
///
/// Bound to a loopback address (127.0.0.0/8, ::1, localhost) without a
/// token, every request is allowed whose Host header names a loopback
/// address (so a web page cannot reach the server through DNS rebinding).
/// With a token (always when bound to any other address) EVERY request
/// needs it, whichever address it comes from: `Authorization: Bearer T`, the
/// cookie `orchard_token=T`, or `?token=T` (which also sets the cookie, so a
/// browser opened on the printed URL keeps working). Tokens are compared in
/// constant time. Pure functions except GenerateToken; thread-safe.
#pragma once

#include <string>

#include "flags/status.h"

namespace orchard::web {

// Whether a host name or address is a loopback one.
bool IsLoopbackHost(const std::string& host);

// 32 hex digits from /dev/urandom.
Result<std::string> GenerateToken();

struct AccessRequest {
  std::string authorization = {};  // the Authorization header
  std::string cookie = {};         // the Cookie header
  std::string token_param = {};    // ?token=
  std::string host_header = {};    // the Host header
};

enum class Access {
  kAllowed,
  kAllowedSetCookie,  // allowed by ?token=: set the cookie
  kNoToken,           // 401
  kBadHost,           // 403: a loopback server reached under another name
};

// token: "" when the server runs without one (loopback only).
Access CheckAccess(const std::string& token, const AccessRequest& req);

// The value of a cookie in a Cookie header ("" when absent).
std::string CookieValue(const std::string& header, const std::string& name);

}  // namespace orchard::web
