# Every dependency comes from Debian's packages (see scripts/install-deps.sh).
find_package(Boost 1.81 REQUIRED CONFIG COMPONENTS headers)
find_package(nlohmann_json 3 REQUIRED CONFIG)
find_package(yaml-cpp REQUIRED CONFIG)
find_package(spdlog REQUIRED CONFIG)
find_package(prometheus-cpp REQUIRED CONFIG)
find_package(SQLiteCpp REQUIRED CONFIG)
find_package(Threads REQUIRED)
# TLS to etcd (cluster mode): Beast's ssl_stream.
find_package(OpenSSL REQUIRED)
# HTTP/2 for the gateway (h2c to clients and instances, gRPC): Beast has
# none, and nghttp2 is the framer curl, Apache httpd and h2load use.
find_package(PkgConfig REQUIRED)
pkg_check_modules(NGHTTP2 REQUIRED IMPORTED_TARGET libnghttp2>=1.43)
if(MESHD_BUILD_TESTS)
  find_package(GTest REQUIRED CONFIG)
endif()

# meshd runs one event loop per thread; without timerfd, Asio computes the
# epoll_wait timeout from its timer queue instead of making a timerfd_settime
# system call whenever the earliest deadline moves, which on the gateway's
# hot path is every request.
add_compile_definitions(BOOST_ASIO_DISABLE_TIMERFD)
