# Warnings on for our own targets; errors only when asked (developers, CI), so a
# release built with a newer compiler does not fail on a new warning.
function(mldeploy_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor)
  if(MLDEPLOY_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
