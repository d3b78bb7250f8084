# io tools tests (labels unit): C++ helpers write files with the io library; Debian's /usr/bin/python3
# (h5py, numpy, matplotlib, PIL) and h5dump read them back, run the tools/h5 scripts and
# `dagalign inspect` on them, and kill a writer with SIGKILL (tests/integration/tools/kill_test.py).
foreach(helper make_run kill_writer)
  add_executable(io_${helper} ${CMAKE_CURRENT_LIST_DIR}/tools/${helper}.cpp)
  target_link_libraries(io_${helper} PRIVATE dagalign_io)
  target_compile_options(io_${helper} PRIVATE ${DAGALIGN_WARNINGS})
endforeach()

set(IO_TOOLS_RUN ${CMAKE_CURRENT_BINARY_DIR}/io-tools-run)
add_test(NAME io.tools.make_run COMMAND io_make_run ${IO_TOOLS_RUN})
set_tests_properties(io.tools.make_run PROPERTIES FIXTURES_SETUP io_tools_run LABELS unit TIMEOUT 60)
foreach(case files plot grid export)
  add_test(NAME io.tools.${case} COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/tools/check_tools.py ${case} ${IO_TOOLS_RUN})
  set_tests_properties(io.tools.${case} PROPERTIES FIXTURES_REQUIRED io_tools_run LABELS unit TIMEOUT 120)
endforeach()
add_test(NAME io.tools.inspect COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/tools/check_tools.py inspect
         ${IO_TOOLS_RUN} $<TARGET_FILE:dagalign>)
set_tests_properties(io.tools.inspect PROPERTIES FIXTURES_REQUIRED io_tools_run LABELS unit TIMEOUT 120)
# SIGKILL at random moments, plain float32 and deflate+float16 files alternating (tests/integration/tools/kill_test.py).
add_test(NAME io.tools.kill_store COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/tools/kill_test.py
         $<TARGET_FILE:io_kill_writer> ${CMAKE_CURRENT_BINARY_DIR}/io-kill-test 20)
set_tests_properties(io.tools.kill_store PROPERTIES LABELS unit TIMEOUT 120)
# tools/h5/fl_correlation.py on a synthetic run with a known answer (tests/integration/tools/check_fl_correlation.py).
add_test(NAME io.tools.fl_correlation COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/tools/check_fl_correlation.py)
set_tests_properties(io.tools.fl_correlation PROPERTIES LABELS unit TIMEOUT 120)
