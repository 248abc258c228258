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
endif()
