import pandas as pd

CATEGORIES = {"size_class": ["small", "medium", "large"],
              "texture_grade": ["A", "B", "C", "D"]}


class FeatureExtractor:
    def fit(self, X_df, y):
        numeric = X_df.select_dtypes("number")
        self.medians = numeric.median()

    def transform(self, X_df):
        numeric = X_df[self.medians.index].fillna(self.medians)
        dummies = [pd.get_dummies(pd.Categorical(X_df[c], categories=cats), prefix=c)
                   for c, cats in CATEGORIES.items()]
        return pd.concat([numeric.reset_index(drop=True)]
                         + [d.reset_index(drop=True) for d in dummies], axis=1).to_numpy(float)
