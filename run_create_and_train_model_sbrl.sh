#!/bin/sh
# As run_create_and_train_model.sh, with the status scaled by run length ("sbrl"):
# the model goes to models/<SEGDEFNAME>_sbrl_<DEF>/.
SEISCLIP_SBRL=1 exec sh "$(dirname "$0")/run_create_and_train_model.sh" "$@"
