"""qlib's Alpha158 handler with the feature list chosen by a `feature_config` kwarg, as qtask's Alpha158
accepts (qlib hard-codes the config in `Alpha158.get_feature_config`). The list is built by qlib's own
`Alpha158DL.get_feature_config(config)`, so both sides compute the same expressions."""
from qlib.contrib.data.handler import Alpha158
from qlib.contrib.data.loader import Alpha158DL


class Alpha158Configured(Alpha158):
    def __init__(self, feature_config=None, **kwargs):
        # set before Alpha158.__init__, which calls get_feature_config()
        self.feature_conf = feature_config
        super().__init__(**kwargs)

    def get_feature_config(self):
        if self.feature_conf is None:
            return super().get_feature_config()
        return Alpha158DL.get_feature_config(self.feature_conf)
