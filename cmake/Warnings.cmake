# Warning flags shared by every meshd target, and the sanitizer build.
add_library(meshd_warnings INTERFACE)
target_compile_options(meshd_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
  -Wimplicit-fallthrough)
if(MESHD_WERROR)
  target_compile_options(meshd_warnings INTERFACE -Werror)
endif()
if(MESHD_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
  # With ASan, GCC 12 reports uninitialized boost::optional storage inside
  # Beast's request parser: a false positive that the default and Release
  # builds, which keep the warning, do not see. The targets that parse HTTP
  # requests add these options (cmake/MeshdModule.cmake, src/CMakeLists.txt).
  set(MESHD_SANITIZE_BEAST_OPTIONS -Wno-maybe-uninitialized)
endif()
