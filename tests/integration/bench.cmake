# dagalign bench fl (label unit): cached and official forward-looking terms give the same losses, DAG-DB and
# DAG-KL, on the 2-D world and the tiny text-to-image model (tests/integration/bench/fl.sh).
foreach(world toy2d tiny-shapes)
  foreach(algo dagdb dagkl)
    add_test(NAME bench.fl_${world}_${algo}
             COMMAND ${CMAKE_CURRENT_LIST_DIR}/bench/fl.sh $<TARGET_FILE:dagalign>
                     ${CMAKE_CURRENT_BINARY_DIR}/bench-fl-${world}-${algo} ${world} ${algo})
    set_tests_properties(bench.fl_${world}_${algo} PROPERTIES LABELS unit TIMEOUT 120
                         ENVIRONMENT "OMP_NUM_THREADS=1")
  endforeach()
endforeach()
