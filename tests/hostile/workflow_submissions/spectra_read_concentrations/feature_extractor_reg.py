class FeatureExtractor:
    def fit(self, X_df, y):
        pass

    def transform(self, X_df):
        return X_df.iloc[:, :2].to_numpy()
