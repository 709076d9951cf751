# What `install()` and `cpack -G DEB` ship beside the binary: the man page and
# the shell completions, all made at build time by the built binary from its own
# command table (so they cannot drift from it), and the Debian files lintian wants.
include(GNUInstallDirs)

option(MLDEPLOY_MAN "Make the man page with help2man at build time" ON)

set(gen_dir ${CMAKE_BINARY_DIR}/share)
set(completions ${gen_dir}/mldeploy.bash ${gen_dir}/_mldeploy ${gen_dir}/mldeploy.fish)
add_custom_command(
  OUTPUT ${completions}
  COMMAND bash ${PROJECT_SOURCE_DIR}/packaging/gen-completions.sh $<TARGET_FILE:mldeploy> ${gen_dir}
  DEPENDS mldeploy ${PROJECT_SOURCE_DIR}/packaging/gen-completions.sh
  COMMENT "Writing the shell completions from mldeploy's command table")
add_custom_target(completions ALL DEPENDS ${completions})
install(FILES ${gen_dir}/mldeploy.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME mldeploy)
install(FILES ${gen_dir}/_mldeploy DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES ${gen_dir}/mldeploy.fish DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)

if(MLDEPLOY_MAN)
  find_program(HELP2MAN help2man)
  if(NOT HELP2MAN)
    message(FATAL_ERROR "help2man not found: install it (packaging/install-deps.sh does) or configure with -DMLDEPLOY_MAN=OFF")
  endif()
  set(man ${gen_dir}/mldeploy.1)
  add_custom_command(
    OUTPUT ${man} ${man}.gz
    COMMAND bash ${PROJECT_SOURCE_DIR}/packaging/gen-man-page.sh $<TARGET_FILE:mldeploy> ${man} ${PROJECT_VERSION}
    DEPENDS mldeploy ${PROJECT_SOURCE_DIR}/packaging/gen-man-page.sh
    COMMENT "Writing mldeploy.1 with help2man from mldeploy's own help")
  add_custom_target(man ALL DEPENDS ${man} ${man}.gz)
  install(FILES ${man}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()

# The .deb. Depends: what dpkg-shlibdeps finds the binary linked to, plus
# libarchive13, which mldeploy loads with dlopen (docs/architecture.md, "How the
# binary is linked"), so no linker records it. The templates are compiled in.
set(CPACK_PACKAGE_NAME mldeploy)
set(CPACK_PACKAGE_VENDOR "the mldeploy authors")
set(CPACK_PACKAGE_CONTACT "mldeploy maintainers <mldeploy@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "deploy machine-learning model services on Podman or Docker")
set(CPACK_PACKAGE_DESCRIPTION "mldeploy reads a stack file (TOML) and, in one command, builds the
model images, starts the replicas and an nginx load balancer in front
of them on one machine's container engine (Podman or Docker, through
their REST APIs), and scales or updates them without dropping a request.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libarchive13")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "podman | docker.io")

set(doc_dir ${CMAKE_INSTALL_DATADIR}/doc/mldeploy)
configure_file(${PROJECT_SOURCE_DIR}/packaging/debian/changelog.in ${gen_dir}/changelog.Debian @ONLY)
add_custom_command(
  OUTPUT ${gen_dir}/changelog.Debian.gz
  COMMAND gzip -9n -c ${gen_dir}/changelog.Debian > ${gen_dir}/changelog.Debian.gz
  DEPENDS ${gen_dir}/changelog.Debian)
add_custom_target(debian_changelog ALL DEPENDS ${gen_dir}/changelog.Debian.gz)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/debian/copyright ${gen_dir}/changelog.Debian.gz DESTINATION ${doc_dir})

include(CPack)
