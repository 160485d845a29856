#include "web/access.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

namespace orchard::web {

namespace {

bool SameSecret(const std::string& a, const std::string& b) {
  if (a.size() != b.size() || a.empty()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// "127.0.0.1:8080" -> "127.0.0.1"; "[::1]:80" -> "::1".
std::string HostPart(const std::string& host_header) {
  if (!host_header.empty() && host_header[0] == '[') {
    size_t close = host_header.find(']');
    return close == std::string::npos ? host_header : host_header.substr(1, close - 1);
  }
  size_t colon = host_header.find(':');
  return colon == std::string::npos ? host_header : host_header.substr(0, colon);
}

}  // namespace

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  if (host.rfind("127.", 0) != 0) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

Result<std::string> GenerateToken() {
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("cannot open /dev/urandom for an access token");
  unsigned char bytes[16];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = read(fd, bytes + got, sizeof bytes - got);
    if (n <= 0) {
      close(fd);
      return Status::IoError("cannot read /dev/urandom for an access token");
    }
    got += static_cast<size_t>(n);
  }
  close(fd);
  std::string hex;
  char buf[3];
  for (unsigned char b : bytes) {
    std::snprintf(buf, sizeof buf, "%02x", b);
    hex += buf;
  }
  return hex;
}

std::string CookieValue(const std::string& header, const std::string& name) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string part = header.substr(pos, end - pos);
    size_t b = part.find_first_not_of(' ');
    if (b != std::string::npos) part = part.substr(b);
    if (part.size() > name.size() && part.compare(0, name.size(), name) == 0 &&
        part[name.size()] == '=') {
      return part.substr(name.size() + 1);
    }
    pos = end + 1;
  }
  return "";
}

Access CheckAccess(const std::string& token, const AccessRequest& req) {
  if (token.empty()) {
    return IsLoopbackHost(HostPart(req.host_header)) ? Access::kAllowed : Access::kBadHost;
  }
  const std::string bearer = "Bearer ";
  if (req.authorization.rfind(bearer, 0) == 0 &&
      SameSecret(req.authorization.substr(bearer.size()), token)) {
    return Access::kAllowed;
  }
  if (SameSecret(CookieValue(req.cookie, "orchard_token"), token)) return Access::kAllowed;
  if (SameSecret(req.token_param, token)) return Access::kAllowedSetCookie;
  return Access::kNoToken;
}

}  // namespace orchard::web
